// The offline model as Tier 2: drafts the artifact by filling the canon
// template of the brief's content type. The brief is read from the writer
// prompt (a JSON object between <brief> and </brief>, as content-execution
// renders it; or the whole message if it is JSON). Each {{slot}} of the
// template is filled from the brief: headline slots from the topic, body
// slots from the brand guidance and research, the call to action from the
// objective, disclaimers from the compliance rules; required phrases are
// added and banned phrases left out, so the draft passes its own canon.
// Without a template it uses a plain skeleton for the content type.
// Pure; thread-safe.
#pragma once

#include <string>

#include "mx/model.hpp"

namespace mx::offline {

Json readBrief(const std::string& prompt);
std::string writeArtifact(const Json& brief);

// The offline model asked to summarise a conversation (agent.summarize's
// request: "User: …" / "Assistant: …" lines): extractive — the first
// sentence of each turn, at most about 300 words, after any previous summary.
std::string summarizeTranscript(const std::string& request);

}  // namespace mx::offline
