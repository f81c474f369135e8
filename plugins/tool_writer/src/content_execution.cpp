#include "content_execution.hpp"

#include "mx/record_id.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mx_common/artifact_markers.hpp"
#include "mx_common/model_choice.hpp"

namespace mx::writer {

// Words as `std::istream >> std::string` splits them (the classic locale's white space), without a
// stream and a string per word: a whole draft is counted once per Tier 2 call.
// Sixteen bytes a step with SSE2: a word starts at a byte that is not white space after one that
// is (or at the text's start). A byte at a time it cost ~16 instructions a byte.
int64_t countWords(std::string_view text) {
  int64_t n = 0;
  bool inWord = false;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i blank = _mm_set1_epi8(' ');
  const __m128i belowTab = _mm_set1_epi8('\t' - 1);
  const __m128i aboveReturn = _mm_set1_epi8('\r' + 1);
  for (; i + 16 <= text.size(); i += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    // '\t'..'\r' as a signed range: bytes 0x80 and up are negative, so never in it.
    __m128i control = _mm_and_si128(_mm_cmpgt_epi8(bytes, belowTab), _mm_cmplt_epi8(bytes, aboveReturn));
    auto space = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, _mm_cmpeq_epi8(bytes, blank))));
    unsigned before = (space << 1) | (inWord ? 0u : 1u);  // whether the byte before each one is white space
    n += __builtin_popcount(~space & before & 0xFFFFu);
    inWord = (space & 0x8000u) == 0;
  }
#endif
  for (; i < text.size(); ++i) {
    char c = text[i];
    bool space = c == ' ' || (c >= '\t' && c <= '\r');
    n += static_cast<int64_t>(!space && !inWord);
    inWord = !space;
  }
  return n;
}

ContentExecutionTool::ContentExecutionTool(WriterConfig config, std::shared_ptr<ModelCatalogue> models)
    : config_(std::move(config)), models_(std::move(models)) {}

ToolDefinition ContentExecutionTool::definition() const {
  return {"content-execution", "Generate content using specialized writing agent (Tier 2)",
          Json::parse(R"({"type":"object","properties":{
            "contentType":{"type":"string","enum":["email","ad","landing-page","script"]},
            "objective":{"type":"string"},"targetAudience":{"type":"string"},"brandGuidelines":{"type":"string"},
            "templates":{"type":"array"},"complianceRules":{"type":"array"},"research":{"type":"string"},"tone":{"type":"string"}},
            "required":["contentType","objective","targetAudience"]})")};
}

std::string ContentExecutionTool::renderPrompt(const Json& brief) const {
  std::string prompt = config_.promptTemplate;
  std::string rendered = "<brief>" + brief.dump(2) + "</brief>";
  auto at = prompt.find("{{brief}}");
  if (at == std::string::npos) return prompt + "\n\n" + rendered;
  return prompt.replace(at, 9, rendered);
}

std::string ContentExecutionTool::modelFor(const Json* state) const {
  return common::modelForTier(state != nullptr ? *state : emptyObject(), "modelPreference", 2, config_.model, *models_);
}

namespace {

class ArtifactObserver final : public ChatObserver {
 public:
  ArtifactObserver(std::shared_ptr<ToolContext> context, std::string artifactId, std::string contentType, std::string model,
                   ToolDone done)
      : context_(std::move(context)), artifactId_(std::move(artifactId)), contentType_(std::move(contentType)),
        model_(std::move(model)), done_(std::move(done)) {}

  void onTextDelta(std::string_view text) override {
    content_.append(text);
    if (context_->events != nullptr) context_->events->emitArtifactDelta(artifactId_, text);
  }

  void onComplete(const Status& status, ChatResponse response) override {
    if (context_->usage != nullptr) context_->usage->record(model_, response.usage, response.costUsd, status.isOk());
    int64_t words = countWords(content_);
    Json metadata = {{"contentType", contentType_}, {"wordCount", words}};
    if (!status.isOk()) {
      metadata["incomplete"] = true;
      metadata["error"] = status.toString();
      emit({{"type", "end"}, {"artifactId", artifactId_}, {"metadata", metadata}});
      done_(Status(status.code(), "content-execution (" + model_ + ") failed after " + std::to_string(content_.size()) +
                                      " characters of artifact " + artifactId_ + ": " + status.message()));
      return;
    }
    emit({{"type", "end"}, {"artifactId", artifactId_}, {"metadata", metadata}});
    Json result = Json::object();  // member by member: not copied again by an initializer list
    result["artifactId"] = artifactId_;
    result["contentType"] = contentType_;
    result["artifact"] = common::wrapArtifact(artifactId_, contentType_, content_);
    result["wordCount"] = words;
    result["status"] = "complete";
    result["model"] = model_;
    result["usage"] = {{"inputTokens", response.usage.inputTokens}, {"outputTokens", response.usage.outputTokens}};
    result["costUsd"] = response.costUsd;
    done_(std::move(result));
  }

 private:
  void emit(const Json& data) {
    if (context_->events != nullptr) context_->events->emitJson("artifact", data);
  }

  std::shared_ptr<ToolContext> context_;
  std::string artifactId_;
  std::string contentType_;
  std::string model_;
  ToolDone done_;
  std::string content_;
};

}  // namespace

void ContentExecutionTool::invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) {
  std::string model = modelFor(context->state);
  if (model.empty()) {
    done(failedPreconditionError("no tier-2 model is configured"));
    return;
  }
  std::string contentType = arguments.value("contentType", "email");
  std::string artifactId = newRecordId("art_");
  if (context->events != nullptr) {
    context->events->emitJson("artifact", {{"type", "start"}, {"artifactId", artifactId}, {"metadata", {{"contentType", contentType}}}});
  }
  ChatRequest request;
  request.maxTokens = config_.maxTokens;
  request.userId = context->userId;
  if (!config_.systemPrompt.empty()) request.system.push_back(ContentBlock::makeText(config_.systemPrompt));
  request.messages = {{Role::User, {ContentBlock::makeText(renderPrompt(arguments))}}};
  auto observer = std::make_shared<ArtifactObserver>(context, artifactId, contentType, model, std::move(done));
  models_->chat(model, std::move(request), std::move(observer), context->cancel);
}

}  // namespace mx::writer
