// What the config and the command line know of routers without LibTorch: their names, labels and order
// (router_list.h), and the tie rule of the per-instance labels.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rr {

enum class TieRule {
  First,  // a query tied between experts goes to the first in the configured order (the released code)
  Skip,   // tied queries are left out
};
TieRule parse_tie_rule(std::string_view name);  // "first" | "skip"; throws Usage otherwise

struct RouterName {
  std::string name;   // in configs and results files
  std::string label;  // Table 1 row; "{}" stands for the expert's name of a per-expert router
  bool per_expert = false;  // one router per expert, named "<name>-<expert>"
};

// Every router, in Table 1 row order.
const std::vector<RouterName>& router_table();
std::vector<std::string> router_names();
const RouterName& router_name(std::string_view name);  // throws Usage naming the known routers

}  // namespace rr
