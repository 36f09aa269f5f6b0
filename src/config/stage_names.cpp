#include "config/stage_names.h"

#include "config/stage_list.h"

namespace rr {

std::string StageName::assemble_job() const {
  return array == StageArray::PerExpertThenAssemble ? name + "-assemble" : "";
}

const std::vector<StageName>& stage_names() {
#define RR_STAGE_NAME(id, name, command, klass, array) \
  StageName{name, command, StageClass::klass, StageArray::array},
  static const std::vector<StageName> names = {RR_STAGES(RR_STAGE_NAME)};
#undef RR_STAGE_NAME
  return names;
}

const char* stage_class_name(StageClass c) {
  return c == StageClass::OneTask ? "one task (CPU)" : "P ranks";
}

const char* stage_array_name(StageArray a) {
  switch (a) {
    case StageArray::None:
      return "-";
    case StageArray::PerExpert:
      return "per expert";
    case StageArray::PerExpertThenAssemble:
      return "per expert, then assembled";
  }
  return "?";
}

}  // namespace rr
