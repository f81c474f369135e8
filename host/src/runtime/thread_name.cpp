#include "runtime/thread_name.hpp"

#include <pthread.h>

namespace mx::host {

void nameThisThread(std::string_view name) {
  std::string cut(name.substr(0, kMostThreadNameChars));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

std::string nameOf(std::string_view prefix, size_t index) {
  std::string suffix = "-" + std::to_string(index);
  std::string_view kept = prefix.substr(0, kMostThreadNameChars > suffix.size() ? kMostThreadNameChars - suffix.size() : 0);
  return std::string(kept) + suffix;
}

std::string thisThreadsName() {
  char name[kMostThreadNameChars + 1] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return "";
  return name;
}

}  // namespace mx::host
