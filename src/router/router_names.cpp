#include "router/router_names.h"

#include <fmt/ranges.h>

#include "common/error.h"
#include "router/router_list.h"

namespace rr {

TieRule parse_tie_rule(std::string_view name) {
  if (name == "first") return TieRule::First;
  if (name == "skip") return TieRule::Skip;
  RR_THROW(Usage, "tie rule '{}': must be first or skip", name);
}

const std::vector<RouterName>& router_table() {
#define RR_ROUTER_NAME(name, label, per_expert, factory) RouterName{name, label, per_expert},
  static const std::vector<RouterName> table = {RR_ROUTERS(RR_ROUTER_NAME)};
#undef RR_ROUTER_NAME
  return table;
}

std::vector<std::string> router_names() {
  std::vector<std::string> names;
  for (const auto& r : router_table()) names.push_back(r.name);
  return names;
}

const RouterName& router_name(std::string_view name) {
  for (const auto& r : router_table())
    if (r.name == name) return r;
  RR_THROW(Usage, "unknown router '{}' (known: {})", name, fmt::join(router_names(), ", "));
}

}  // namespace rr
