// Token embedding lookup: x[i,:] = table[tokens[i],:].  Token ids must already be validated
// (0 <= id < vocab); the model checks them and throws before calling.
#pragma once

#include <cstdint>

namespace wb::kernels {

// x[n,d] = table[tokens[i], :] for each row i.
template <typename T>
void embedding_forward(T* x, const int32_t* tokens, const T* table, int64_t n, int64_t d);

// dtable[tokens[i], :] += dx[i, :].  Deterministic: rows are summed in index order.
template <typename T>
void embedding_backward(T* dtable, const T* dx, const int32_t* tokens, int64_t n, int64_t d);

}  // namespace wb::kernels
