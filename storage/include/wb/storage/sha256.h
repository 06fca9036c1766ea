// wb/storage/sha256.h — SHA-256 (FIPS 180-4), for storing annotator tokens as hashes only.
//
//   std::string h = wb::storage::sha256_hex("abc");  // "ba7816bf...15ad"
//
// Written here because the project links no crypto library; checked against the FIPS 180-4
// example vectors in tests/storage/test_annotators.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace wb::storage {

std::array<std::uint8_t, 32> sha256(std::string_view data);
// Lower-case hex of sha256(data): 64 characters.
std::string sha256_hex(std::string_view data);

}  // namespace wb::storage
