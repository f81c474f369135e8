// The store conformance suite: every mx::Store implementation must pass it.
// Instantiate with a factory: INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(factory)).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "mx/store.hpp"

namespace mx::test {

using StoreFactory = std::function<std::shared_ptr<Store>()>;

struct NamedStoreFactory {
  std::string name;
  StoreFactory make;
};

inline std::ostream& operator<<(std::ostream& out, const NamedStoreFactory& f) { return out << f.name; }

class StoreConformance : public ::testing::TestWithParam<NamedStoreFactory> {
 protected:
  void SetUp() override { store = GetParam().make(); ASSERT_TRUE(store); }
  std::shared_ptr<Store> store;
};

}  // namespace mx::test
