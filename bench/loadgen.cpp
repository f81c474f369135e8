// mx_loadgen: keeps C chat streams open against the server (or, with
// --direct, model calls against the mock) until N turns are done, on
// one thread (bench/http1_client.hpp: libcurl cost the machine's shared
// cores more than this does). With --script (the mock's
// recording of one turn served through the server: bench/epoll_mock_server.hpp),
// a direct turn replays that turn's calls — in their order, the calls that
// overlapped started together — and its first delta is the first text of the
// writer's call (the first model call offered no tools): the server's own
// time is what its turn takes beyond that. Without a script, a direct turn
// is one Tier 2 call. Every stream is parsed with the
// host's SSE decoder and checked: ids 1, 2, 3 ..., `thinking` first, `done`
// last, artifact start before its deltas before its end, one `message`.
// A turn the server refuses with 503 (its limit of turns in progress) is sent
// again after its Retry-After (times 0.5-1.5, as clients' backoff spreads
// them), as a client would; its times still count from the first attempt, and
// the refusals are reported apart from errors. A stream's next turn goes on
// the connection of its last one (kept alive, as a browser keeps it).
// With --rate R, turns start no faster than R a second, on a schedule (turn k
// at k/R s): a stream whose turn ended waits for the next place. The load is
// then the same for two servers that would saturate the machine at different
// rates, for latencies measured beside it (a reconnect's).
// Prints one JSON object: percentiles of time to first event, to first
// artifact delta and to the end, turns/s, events/s, errors and refusals.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/sse_decoder.hpp"

#include "bench_stats.hpp"
#include "http1_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using mx::bench::Http1Client;
using mx::bench::Http1Request;
using mx::bench::Http1Result;

struct Options {
  std::string url;
  std::string apiKey;
  bool direct = false;
  std::string scriptPath;
  size_t concurrency = 10;
  size_t turns = 100;
  double rate = 0;  // turns started per second at most; 0: as fast as the streams end
};

// One recorded call to the mock, and the stages a turn replays: calls that
// started before every call of the stage so far had been answered join it.
struct ScriptCall {
  std::string method, target, body;
  std::vector<std::string> headers;
  bool writer = false;  // its text is the artifact's
  bool sse = false;     // it asked for a stream: it must end with the stream's last event
};
using Script = std::vector<std::vector<ScriptCall>>;

bool offersNoTools(const Json& body) { return !body.contains("tools") || body["tools"].empty(); }

Script loadScript(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw std::invalid_argument("--script " + path + ": cannot open it: " + std::strerror(errno));
  std::string text;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  std::fclose(file);
  Json recording = Json::parse(text, nullptr, false);
  if (!recording.is_object() || !recording["calls"].is_array() || recording["calls"].empty()) {
    throw std::invalid_argument("--script " + path + ": not a recording with calls (GET /_bench/recording of the bench mock)");
  }
  Script script;
  int64_t stageEnd = -1;
  bool writerFound = false;
  for (const auto& call : recording["calls"]) {
    int64_t start = call.value("startUs", int64_t{-1}), end = call.value("endUs", int64_t{-1});
    if (start < 0 || end < start) throw std::invalid_argument("--script " + path + ": call " + call.value("path", "?") + " has no complete answer");
    ScriptCall replay;
    replay.method = call.value("method", "POST");
    replay.target = call.value("path", "/") + (call.value("query", "").empty() ? "" : "?" + call.value("query", ""));
    replay.body = call.value("body", "");
    for (const auto& [name, value] : call["headers"].items()) {
      if (name == "host" || name == "content-length" || name == "connection" || name == "expect" || name == "transfer-encoding") continue;
      replay.headers.push_back(name + ": " + value.get<std::string>());
    }
    Json body = Json::parse(replay.body, nullptr, false);
    bool modelCall = replay.target == "/v1/messages" || replay.target == "/v1/chat/completions";
    replay.writer = !writerFound && modelCall && body.is_object() && offersNoTools(body);
    replay.sse = body.is_object() && body.value("stream", false);
    writerFound = writerFound || replay.writer;
    if (script.empty() || start >= stageEnd) script.emplace_back();
    stageEnd = std::max(stageEnd, end);
    script.back().push_back(std::move(replay));
  }
  if (!writerFound) throw std::invalid_argument("--script " + path + ": no model call without tools (the writer's) in it");
  return script;
}

// An artifact event's "type"; a delta, the most frequent event, is known by
// its end (the host writes "type" last) without building a JSON tree.
std::string artifactType(std::string_view data) {
  static constexpr std::string_view kDeltaEnd = ",\"type\":\"delta\"}";
  if (data.size() > kDeltaEnd.size() && data.substr(data.size() - kDeltaEnd.size()) == kDeltaEnd) return "delta";
  Json json = Json::parse(data, nullptr, false);
  return json.is_object() ? json.value("type", "") : "";
}

struct Stream {
  Clock::time_point started;
  double firstEventMs = -1, firstDeltaMs = -1, totalMs = -1;
  size_t events = 0;
  long expectedId = 1;
  bool sawThinking = false, sawDone = false, inArtifact = false;
  int messages = 0;
  std::string problem;
  mx::host::SseDecoder decoder;
  bool direct = false;
  size_t slot = 0;
  size_t number = 0;  // the turn's number (its message), kept across retries
  struct ScriptedTurn* turn = nullptr;  // with --script: the turn this call belongs to
  bool writer = false;
  bool sse = false;

  double sinceStart() const { return std::chrono::duration<double, std::milli>(Clock::now() - started).count(); }

  void onChatEvent(const mx::SseEvent& e) {
    if (!problem.empty()) return;
    if (std::to_string(expectedId++) != e.id) problem = "ids out of order at event " + std::to_string(events);
    if (events == 0 && e.event != "thinking") problem = "first event is " + std::string(e.event);
    if (sawDone) problem = "an event after done";
    if (e.event == "artifact") {
      auto type = artifactType(e.data);
      if (type.empty()) problem = "artifact event " + std::to_string(events) + " has no type";
      if (type == "start") inArtifact = true;
      if (type == "delta" && !inArtifact) problem = "artifact delta outside start/end";
      if (type == "delta" && firstDeltaMs < 0) firstDeltaMs = sinceStart();
      if (type == "end") inArtifact = false;
    }
    messages += e.event == "message";
    sawDone = sawDone || e.event == "done";
  }

  void onDirectEvent(const mx::SseEvent& e) {
    if (e.event == "content_block_delta" && firstDeltaMs < 0 && e.data.find("text_delta") != std::string_view::npos) firstDeltaMs = sinceStart();
    // An OpenAI writer's stream: its first content, and [DONE].
    if (e.event.empty() && firstDeltaMs < 0 && e.data.find("\"content\":\"") != std::string_view::npos &&
        e.data.find("\"content\":\"\"") == std::string_view::npos) {
      firstDeltaMs = sinceStart();
    }
    sawDone = sawDone || e.event == "message_stop" || e.data == "[DONE]";
  }
};

// A direct turn replaying a script: one stage of calls at a time.
struct ScriptedTurn {
  Clock::time_point started;
  size_t stage = 0;
  size_t outstanding = 0;
  size_t events = 0;
  double firstEventMs = -1, firstDeltaMs = -1;
  std::string problem;
  double sinceStart() const { return std::chrono::duration<double, std::milli>(Clock::now() - started).count(); }
};

void onBody(Stream& stream, std::string_view bytes) {
  bool direct = stream.direct;
  stream.decoder.feed(bytes, [&](const mx::SseEvent& e) {
    if (stream.events++ == 0) stream.firstEventMs = stream.sinceStart();
    direct ? stream.onDirectEvent(e) : stream.onChatEvent(e);
  });
  if (ScriptedTurn* turn = stream.turn) {  // the turn's times count from its first call
    if (turn->firstEventMs < 0 && stream.events > 0) turn->firstEventMs = turn->sinceStart();
    if (stream.writer && turn->firstDeltaMs < 0 && stream.firstDeltaMs >= 0) turn->firstDeltaMs = turn->sinceStart();
  }
}

std::string directBody() {
  return Json{{"model", "claude-haiku-4-5-20251001"}, {"max_tokens", 1024}, {"stream", true},
              {"messages", {{{"role", "user"}, {"content", "Write the spring sale email."}}}}}.dump();
}

std::string chatBody(size_t n) { return Json{{"message", "Create an email campaign for our spring sale #" + std::to_string(n)}}.dump(); }

Http1Request scriptedRequest(Stream& stream, const ScriptCall& call) {
  stream.sse = call.sse;
  stream.writer = call.writer;
  stream.direct = true;
  stream.started = Clock::now();
  Http1Request request;
  request.method = call.method;
  request.target = call.target;
  request.headers = call.headers;
  request.body = call.body;
  return request;
}

Http1Request turnRequest(const Options& options, Stream& stream, size_t n) {
  stream.number = n;
  stream.direct = options.direct;
  Http1Request request;
  request.method = "POST";
  request.body = options.direct ? directBody() : chatBody(n);
  request.headers.push_back("Content-Type: application/json");
  if (!options.direct) {
    request.target = "/api/v1/chat/stream";
    request.headers.push_back("Accept: text/event-stream");
    request.headers.push_back("Connection: keep-alive");  // as browsers and undici (the peer's load generator) ask
    if (!options.apiKey.empty()) request.headers.push_back("Authorization: Bearer " + options.apiKey);
  } else {
    request.target = "/v1/messages";
    request.headers.push_back("x-api-key: bench");
    request.headers.push_back("anthropic-version: 2023-06-01");
  }
  return request;
}

using mx::bench::percentile;

Json summary(const std::vector<double>& values) {
  return {{"p50", percentile(values, 0.50)}, {"p90", percentile(values, 0.90)}, {"p99", percentile(values, 0.99)}};
}

double parseRate(const std::string& value) {
  size_t used = 0;
  double rate = -1;
  try {
    rate = std::stod(value, &used);
  } catch (const std::exception&) {
  }
  if (used != value.size() || !(rate > 0)) throw std::invalid_argument("--rate must be turns per second above 0, not \"" + value + "\"");
  return rate;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") options.url = value;
    else if (flag == "--api-key") options.apiKey = value;
    else if (flag == "--concurrency") options.concurrency = std::stoul(value);
    else if (flag == "--turns") options.turns = std::stoul(value);
    else if (flag == "--direct") options.direct = value == "1";
    else if (flag == "--script") options.scriptPath = value;
    else if (flag == "--rate") options.rate = parseRate(value);
    else throw std::invalid_argument("unknown option " + flag);
  }
  if (options.url.empty()) throw std::invalid_argument("--url is required");
  if (!options.scriptPath.empty() && !options.direct) throw std::invalid_argument("--script replays calls to the mock: it needs --direct 1");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mx_loadgen: %s\nusage: mx_loadgen --url URL [--concurrency C] [--turns N] [--rate TURNS_PER_S] [--direct 0|1 [--script RECORDING]] [--api-key KEY]\n", e.what());
    return 2;
  }
  Script script;
  try {
    if (!options.scriptPath.empty()) script = loadScript(options.scriptPath);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mx_loadgen: %s\n", e.what());
    return 2;
  }
  std::unique_ptr<Http1Client> client;
  try {
    client = std::make_unique<Http1Client>(options.url);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mx_loadgen: --url: %s\n", e.what());
    return 2;
  }
  std::vector<std::unique_ptr<Stream>> streams;
  size_t started = 0, errors = 0, events = 0, finished = 0;
  std::vector<double> firstEvent, firstDelta, total;
  std::vector<std::string> problems;
  auto begin = Clock::now();
  size_t refused = 0;
  std::mt19937 random(12345);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  std::multimap<Clock::time_point, std::unique_ptr<Stream>> retries;  // refused turns, by when they are due
  std::vector<std::unique_ptr<ScriptedTurn>> scriptedTurns;  // with --script, owned here until they end
  std::function<void()> launch;
  // With --rate: streams waiting for their turn's place on the schedule.
  size_t waitingToStart = 0;
  auto dueAt = [&](size_t turn) {
    return begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(turn) / options.rate));
  };
  auto launchWhenDue = [&] {
    if (options.rate > 0 && (waitingToStart > 0 || Clock::now() < dueAt(started))) {
      ++waitingToStart;
      return;
    }
    launch();
  };
  std::function<void(Stream&, const Http1Result&)> onDone;
  auto send = [&](Stream& stream, Http1Request request) {
    request.onBody = [&stream](std::string_view bytes) { onBody(stream, bytes); };
    request.onDone = [&onDone, &stream](const Http1Result& result) { onDone(stream, result); };
    client->start(std::move(request));
  };
  auto newStream = [&]() -> Stream& {
    streams.push_back(std::make_unique<Stream>());
    streams.back()->slot = streams.size() - 1;
    return *streams.back();
  };
  auto launchStage = [&](ScriptedTurn& turn) {
    turn.outstanding = script[turn.stage].size();
    for (const auto& call : script[turn.stage]) {
      Stream& stream = newStream();
      stream.turn = &turn;
      send(stream, scriptedRequest(stream, call));
    }
  };
  launch = [&] {
    if (!script.empty()) {
      scriptedTurns.push_back(std::make_unique<ScriptedTurn>());
      scriptedTurns.back()->started = Clock::now();
      ++started;
      return launchStage(*scriptedTurns.back());
    }
    Stream& stream = newStream();
    stream.started = Clock::now();
    send(stream, turnRequest(options, stream, started++));
  };
  auto retry = [&](std::unique_ptr<Stream> refusedStream) {
    Stream& again = newStream();
    again.started = refusedStream->started;
    send(again, turnRequest(options, again, refusedStream->number));
  };
  auto countTurn = [&](const std::string& problem, double firstEventMs, double firstDeltaMs, double totalMs, size_t turnEvents) {
    if (problem.empty()) {
      firstEvent.push_back(firstEventMs);
      if (firstDeltaMs >= 0) firstDelta.push_back(firstDeltaMs);
      total.push_back(totalMs);
    } else {
      ++errors;
      if (problems.size() < 5) problems.push_back(problem);
    }
    events += turnEvents;
    ++finished;
    if (started < options.turns) launchWhenDue();
  };
  onDone = [&](Stream& stream, const Http1Result& result) {
    stream.totalMs = stream.sinceStart();
    if (result.error.empty() && result.status == 503 && !options.direct) {
      ++refused;
      // Spread over half to one and a half times Retry-After, as clients' backoff does: refused
      // together, they do not all come back in the same millisecond.
      auto wait = std::chrono::milliseconds(std::max<long>(result.retryAfterSeconds, 1) * 1000) * (0.5 + jitter(random));
      retries.emplace(Clock::now() + std::chrono::duration_cast<Clock::duration>(wait), std::move(streams[stream.slot]));
      return;
    }
    if (ScriptedTurn* turn = stream.turn) {
      if (!result.error.empty()) turn->problem = result.error;
      else if (result.status != 200) turn->problem = "HTTP " + std::to_string(result.status);
      else if (stream.sse && !stream.sawDone) turn->problem = "a model stream ended without its last event";
      turn->events += stream.events;
      streams[stream.slot].reset();
      if (--turn->outstanding > 0) return;
      if (turn->problem.empty() && ++turn->stage < script.size()) return launchStage(*turn);
      std::string problem = turn->problem;
      double firstEventMs = turn->firstEventMs, firstDeltaMs = turn->firstDeltaMs, totalMs = turn->sinceStart();
      size_t turnEvents = turn->events;
      scriptedTurns.erase(std::find_if(scriptedTurns.begin(), scriptedTurns.end(), [&](const auto& t) { return t.get() == turn; }));
      return countTurn(problem, firstEventMs, firstDeltaMs, totalMs, turnEvents);
    }
    if (!result.error.empty()) stream.problem = result.error;
    else if (result.status != 200) stream.problem = "HTTP " + std::to_string(result.status);
    else if (!stream.sawDone) stream.problem = "the stream ended without its last event";
    else if (!options.direct && stream.messages != 1) stream.problem = std::to_string(stream.messages) + " message events";
    std::string problem = stream.problem;
    double firstEventMs = stream.firstEventMs, firstDeltaMs = stream.firstDeltaMs, totalMs = stream.totalMs;
    size_t streamEvents = stream.events;
    streams[stream.slot].reset();
    countTurn(problem, firstEventMs, firstDeltaMs, totalMs, streamEvents);
  };
  for (size_t stream = 0; stream < std::min(options.turns, options.concurrency); ++stream) launchWhenDue();
  while (finished < started || started < options.turns) {
    int capMs = 100;
    auto capAt = [&](Clock::time_point due) {
      auto until = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count();
      capMs = std::min(capMs, static_cast<int>(std::clamp<long>(until, 0, 100)));
    };
    if (!retries.empty()) capAt(retries.begin()->first);
    if (waitingToStart > 0) capAt(dueAt(started));
    client->wait(capMs);
    while (waitingToStart > 0 && started < options.turns && Clock::now() >= dueAt(started)) {
      --waitingToStart;
      launch();
    }
    while (!retries.empty() && retries.begin()->first <= Clock::now()) {
      auto due = std::move(retries.begin()->second);
      retries.erase(retries.begin());
      retry(std::move(due));
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0; };
  Json out = {{"mode", options.direct ? "direct" : "server"}, {"concurrency", options.concurrency}, {"turns", options.turns},
              {"rate", options.rate}, {"errors", errors}, {"refused", refused}, {"problems", problems}, {"seconds", seconds},
              {"cpuMs", ms(usage.ru_utime) + ms(usage.ru_stime)},  // its own CPU, for the benchmark's split by process
              {"turnsPerSecond", static_cast<double>(options.turns - errors) / seconds},
              {"eventsPerSecond", static_cast<double>(events) / seconds},
              {"eventsPerTurn", options.turns ? static_cast<double>(events) / static_cast<double>(options.turns) : 0.0},
              {"firstEventMs", summary(firstEvent)}, {"firstDeltaMs", summary(firstDelta)}, {"totalMs", summary(total)}};
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 ? 0 : 1;
}
