// Which catalogue model a node or tool of a given tier uses for a run: the
// request's preference (the state's `modelPreference.tier1` / `tier2`), else
// the one its config names, else the catalogue's default for the tier ("" if
// none). Pure; thread-safe.
#pragma once

#include <string>

#include "mx/json.hpp"
#include "mx/model.hpp"

namespace mx::common {

inline std::string modelForTier(const Json& state, const std::string& preferenceChannel, int tier, const std::string& configured,
                                const ModelCatalogue& models) {
  const std::string key = "tier" + std::to_string(tier);
  if (state.contains(preferenceChannel) && state[preferenceChannel].is_object()) {
    const Json& preference = state[preferenceChannel];
    if (preference.contains(key) && preference[key].is_string() && !preference[key].get_ref<const std::string&>().empty()) {
      return preference[key];
    }
  }
  if (!configured.empty()) return configured;
  const ModelInfo* fallback = models.defaultFor(tier);
  return fallback != nullptr ? fallback->id : "";
}

}  // namespace mx::common
