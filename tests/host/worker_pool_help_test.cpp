// WorkerPool::HelpWhenIdle: an event loop's thread (or another pool's worker)
// runs the tasks it posts to an idle pool that accepts help, instead of
// waking a worker; a busy pool, a pool that does not accept help and the
// tasks past kMostHelpedTasks go to the workers as before.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <vector>
#include <thread>

#include "cpu_spin.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {
namespace {

void waitUntilAllAsleep(const WorkerPool& pool) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (pool.workersAsleep() < pool.size() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(pool.workersAsleep(), pool.size()) << "the workers did not go to sleep";
}

TEST(WorkerPoolHelp, AnIdlePoolsTaskRunsOnTheHelperWhenItsScopeCloses) {
  WorkerPool workers(2, /*acceptsHelp=*/true);
  waitUntilAllAsleep(workers);
  uint64_t wakeUpsBefore = workers.wakeUps();
  std::thread::id ranOn;
  bool ranInsideTheScope = false;
  {
    WorkerPool::HelpWhenIdle help;
    workers.post([&] {
      ranOn = std::this_thread::get_id();
      EXPECT_TRUE(workers.runsCurrentTask());  // a helped task is the pool's task while it runs
    });
    ranInsideTheScope = ranOn != std::thread::id();
  }
  EXPECT_FALSE(ranInsideTheScope);  // not at the post: the pass that posted it finishes first
  EXPECT_EQ(ranOn, std::this_thread::get_id());
  EXPECT_EQ(workers.wakeUps(), wakeUpsBefore);
  EXPECT_FALSE(workers.runsCurrentTask());
  workers.stop();
}

TEST(WorkerPoolHelp, WhatAHelpedTaskPostsRunsOnTheHelperToo) {
  WorkerPool workers(2, true);
  waitUntilAllAsleep(workers);
  uint64_t wakeUpsBefore = workers.wakeUps();
  std::thread::id first, second;
  {
    WorkerPool::HelpWhenIdle help;
    workers.post([&] {
      first = std::this_thread::get_id();
      workers.post([&] { second = std::this_thread::get_id(); });
    });
  }
  EXPECT_EQ(first, std::this_thread::get_id());
  EXPECT_EQ(second, std::this_thread::get_id());
  EXPECT_EQ(workers.wakeUps(), wakeUpsBefore);
  workers.stop();
}

TEST(WorkerPoolHelp, APoolThatAcceptsNoHelpWakesAWorker) {
  WorkerPool blocking(1);  // its tasks may wait on I/O: never on an event loop's thread
  waitUntilAllAsleep(blocking);
  std::promise<std::thread::id> ranOn;
  {
    WorkerPool::HelpWhenIdle help;
    blocking.post([&] { ranOn.set_value(std::this_thread::get_id()); });
  }
  EXPECT_NE(ranOn.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(blocking.wakeUps(), 1u);
  blocking.stop();
}

TEST(WorkerPoolHelp, ABusyPoolGetsTheTaskAsBefore) {
  WorkerPool workers(1, true);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> busy;
  workers.post([&] {
    busy.set_value();
    released.wait();
  });
  busy.get_future().wait();
  std::promise<std::thread::id> ranOn;
  {
    WorkerPool::HelpWhenIdle help;
    workers.post([&] { ranOn.set_value(std::this_thread::get_id()); });
  }
  release.set_value();  // the scope closed without running it: the worker takes it when free
  EXPECT_NE(ranOn.get_future().get(), std::this_thread::get_id());
  workers.stop();
}

TEST(WorkerPoolHelp, OutsideAScopeAPostWakesAWorker) {
  WorkerPool workers(1, true);
  waitUntilAllAsleep(workers);
  std::promise<std::thread::id> ranOn;
  workers.post([&] { ranOn.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ranOn.get_future().get(), std::this_thread::get_id());
  workers.stop();
}

TEST(WorkerPoolHelp, AfterTheMostHelpedTasksAWorkerTakesTheRest) {
  WorkerPool workers(1, true);
  waitUntilAllAsleep(workers);
  constexpr int kChain = WorkerPool::kMostHelpedTasks + 3;
  std::atomic<int> onHelper{0};
  std::promise<void> chainDone;
  std::thread::id helper = std::this_thread::get_id();
  std::atomic<int> onWorker{0};
  std::function<void(int)> step = [&](int n) {
    (std::this_thread::get_id() == helper ? onHelper : onWorker)++;
    if (n + 1 == kChain) return chainDone.set_value();
    workers.post([&, n] { step(n + 1); });
  };
  {
    WorkerPool::HelpWhenIdle help;
    workers.post([&] { step(0); });
  }
  EXPECT_EQ(onHelper.load(), WorkerPool::kMostHelpedTasks);  // the helper's loop waits no longer than that
  chainDone.get_future().wait();
  EXPECT_EQ(onWorker.load(), kChain - WorkerPool::kMostHelpedTasks);
  workers.stop();
}

TEST(WorkerPoolHelp, AnotherPoolsWorkerHelpsWhenItsTaskEnds) {
  WorkerPool graphWorkers(2, true);
  WorkerPool blocking(1);
  waitUntilAllAsleep(graphWorkers);
  waitUntilAllAsleep(blocking);
  uint64_t graphWakeUps = graphWorkers.wakeUps();
  std::promise<std::pair<std::thread::id, std::thread::id>> threads;  // the blocking task's, the step's
  blocking.post([&] {
    auto self = std::this_thread::get_id();
    graphWorkers.post([&, self] { threads.set_value({self, std::this_thread::get_id()}); });
  });
  auto [blockingThread, stepThread] = threads.get_future().get();
  EXPECT_EQ(stepThread, blockingThread);  // the query's answer and the run's next step on one thread
  EXPECT_EQ(graphWorkers.wakeUps(), graphWakeUps);
  blocking.stop();
  graphWorkers.stop();
}

TEST(WorkerPoolHelp, ScopesNestAndTheOutermostRunsTheTasks) {
  WorkerPool workers(1, true);
  waitUntilAllAsleep(workers);
  bool ran = false;
  {
    WorkerPool::HelpWhenIdle outer;
    {
      WorkerPool::HelpWhenIdle inner;
      workers.post([&] { ran = true; });
    }
    EXPECT_FALSE(ran);
  }
  EXPECT_TRUE(ran);
  workers.stop();
}

TEST(WorkerPoolHelp, AHelpedTaskChargesItsCpuTime) {
  WorkerPool workers(1, true);
  waitUntilAllAsleep(workers);
  std::atomic<int64_t> chargedNs{0};
  {
    WorkerPool::HelpWhenIdle help;
    workers.post([&] {
      WorkerPool::chargeCurrentTaskTo(chargedNs);
      mx::test::spinCpuMs(20);
    });
  }
  EXPECT_GT(chargedNs.load(), 5'000'000);  // 20 ms of CPU
  workers.stop();
}

// Workers are woken last asleep, first woken: at light load one thread does
// the work, and tasks that wait on each other still get a worker each.
TEST(WorkerPoolWake, TheWorkerThatSleptLastTakesTheNextTask) {
  WorkerPool pool(4);
  waitUntilAllAsleep(pool);
  std::set<std::thread::id> ranOn;
  for (int i = 0; i < 20; ++i) {
    std::promise<std::thread::id> ran;
    pool.post([&] { ran.set_value(std::this_thread::get_id()); });
    ranOn.insert(ran.get_future().get());
    waitUntilAllAsleep(pool);
  }
  EXPECT_EQ(ranOn.size(), 1u);
  EXPECT_EQ(pool.wakeUps(), 20u);
}

TEST(WorkerPoolWake, TasksThatWaitForEachOtherEachGetAWorker) {
  WorkerPool pool(4);
  waitUntilAllAsleep(pool);
  std::atomic<int> started{0};
  std::promise<void> allStarted;
  std::shared_future<void> release = allStarted.get_future().share();
  std::vector<std::promise<std::thread::id>> ran(4);
  for (auto& promise : ran) {
    pool.post([&] {
      if (++started == 4) allStarted.set_value();
      release.wait();
      promise.set_value(std::this_thread::get_id());
    });
  }
  std::set<std::thread::id> threads;
  for (auto& promise : ran) {
    auto future = promise.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "a task found no worker";
    threads.insert(future.get());
  }
  EXPECT_EQ(threads.size(), 4u);
  pool.stop();
}

TEST(WorkerPoolWake, StopWakesEverySleepingWorker) {
  WorkerPool pool(3);
  waitUntilAllAsleep(pool);
  pool.stop();  // joins: returns only if every worker woke
  EXPECT_FALSE(pool.post([] {}));
}

}  // namespace
}  // namespace mx::host
