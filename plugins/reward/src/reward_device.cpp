#include "reward_device.h"

#include "spec_reader.h"

namespace wb::reward {

std::string read_device(sft::SpecReader& r) {
  r.allow("device");  // null is "absent"
  return r.has("device") ? r.choice("device", {"auto", "cpu", "cuda"}, "auto") : "";
}

}  // namespace wb::reward
