#include "offline_planner.hpp"

#include <functional>
#include <set>

#include "mx_common/artifact_markers.hpp"
#include "request_text.hpp"

namespace mx::offline {

namespace {

const std::vector<std::string> kPlan = {"fetch-canon", "knowledge-search", "web-search", "content-execution",
                                        "validate-content"};

struct Context {
  const ChatRequest& request;
  Conversation conversation;
  std::string contentType;
  std::string topic;
  std::map<std::string, std::string> offered;  // normalised -> name as offered

  const ToolCallMade* call(const std::string& name) const {
    for (auto it = conversation.toolCalls.rbegin(); it != conversation.toolCalls.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }
  Json result(const std::string& name) const {
    const ToolCallMade* made = call(name);
    return made != nullptr && !made->isError ? made->result : Json();
  }
};

std::vector<std::string> lookFor(const Json& canon) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::function<void(const Json&)> walk = [&](const Json& value) {
    if (value.is_object()) {
      for (const auto& [key, child] : value.items()) {
        if ((key == "lookFor" || key == "look_for") && child.is_array()) {
          for (const auto& item : child) {
            if (item.is_string() && seen.insert(item.get<std::string>()).second) out.push_back(item);
          }
        } else {
          walk(child);
        }
      }
    } else if (value.is_array()) {
      for (const auto& child : value) walk(child);
    }
  };
  walk(canon);
  return out;
}

Json arrayAt(const Json& value, const char* key) {
  return value.is_object() && value.contains(key) && value[key].is_array() ? value[key] : Json::array();
}

std::string knowledgeDigest(const Json& knowledge, size_t limit) {
  std::string digest;
  for (const auto& hit : arrayAt(knowledge, "results")) {
    std::string text = hit.value("text", hit.value("content", ""));
    if (text.empty()) continue;
    std::string title = hit.value("title", "");
    digest += (digest.empty() ? "" : "\n") + (title.empty() ? "" : title + ": ") + text;
    if (digest.size() > limit) break;
  }
  return digest.substr(0, limit);
}

ContentBlock toolUse(const Context& context, const std::string& name, Json input) {
  std::string id = "toolu_offline_" + std::to_string(context.conversation.toolCalls.size() + 1);
  return ContentBlock::makeToolUse(id, context.offered.at(name), std::move(input));
}

PlannedTurn fetchCanon(const Context& c) {
  std::string label = contentTypeLabel(c.contentType);
  std::string article = std::string("aeiou").find(label[0]) != std::string::npos ? "an " : "a ";
  return {"This is a request for " + article + label + " about " + c.topic + ". I'll load the " + c.contentType +
              " canon first: its templates, frameworks and compliance rules tell me what to look for.",
          toolUse(c, "fetch-canon", {{"category", "all"}, {"contentType", c.contentType}})};
}

PlannedTurn knowledgeSearch(const Context& c) {
  auto wanted = lookFor(c.result("fetch-canon"));
  std::string query = c.topic;
  for (size_t i = 0; i < wanted.size() && i < 3; ++i) query += " " + wanted[i];
  std::string guidance = wanted.empty() ? "brand guidelines" : wanted[0];
  for (size_t i = 1; i < wanted.size() && i < 3; ++i) guidance += ", " + wanted[i];
  return {"The canon says to look for " + guidance + ". Searching your documents for \"" + query + "\".",
          toolUse(c, "knowledge-search", {{"query", query}, {"topK", 5}})};
}

PlannedTurn webSearch(const Context& c) {
  std::string query = c.topic + " " + contentTypeLabel(c.contentType) + " ideas";
  return {"Checking the web for current context on " + c.topic + ".",
          toolUse(c, "web-search", {{"query", query}, {"maxResults", 5}, {"searchDepth", "basic"}})};
}

PlannedTurn contentExecution(const Context& c) {
  Json canon = c.result("fetch-canon");
  Json knowledge = c.result("knowledge-search");
  Json research = c.result("web-search");
  std::string audience = extractAudience(c.conversation.userText);
  if (audience.empty()) audience = findString(knowledge, {"audience", "persona"});
  if (audience.empty()) audience = "existing customers and subscribers";
  std::string tone = findString(canon, {"tone", "voice"});
  Json brief = {{"contentType", c.contentType},
                {"objective", c.conversation.userText},
                {"targetAudience", audience},
                {"brandGuidelines", knowledgeDigest(knowledge, 1500)},
                {"templates", arrayAt(canon, "templates")},
                {"complianceRules", arrayAt(canon, "compliance")},
                {"research", knowledgeDigest(research, 800)},
                {"tone", tone.empty() ? "warm, clear and confident" : tone}};
  std::string templateName = findString(arrayAt(canon, "templates"), {"name", "id"});
  return {"I have what the brief needs: the objective, the audience (" + audience + "), brand guidance from " +
              std::to_string(arrayAt(knowledge, "results").size()) + " passages" +
              (templateName.empty() ? "" : " and the \"" + templateName + "\" template") + ". Handing it to the writer.",
          toolUse(c, "content-execution", std::move(brief))};
}

// A writer's draft as bare text: the writer's result carries it between
// artifact markers (`artifact`); another writer may answer `content`, `text`
// or a plain string.
std::string draftText(const Json& draft) {
  std::string text = draft.is_string() ? draft.get<std::string>() : findString(draft, {"artifact", "content", "text"});
  return std::string(common::unwrapArtifact(text));
}

// Validation failed on the first draft: one revision through the writer, with
// the violations added to the brief, then validate again.
std::optional<PlannedTurn> revisionIfNeeded(const Context& c) {
  size_t drafts = 0, validations = 0;
  for (const auto& call : c.conversation.toolCalls) {
    drafts += call.name == "content-execution";
    validations += call.name == "validate-content";
  }
  if (drafts != 1 || validations != 1 || c.conversation.toolCalls.back().name != "validate-content") return std::nullopt;
  Json validation = c.result("validate-content");
  if (!validation.is_object() || validation.value("valid", true)) return std::nullopt;
  Json brief = c.call("content-execution")->input;
  Json violations = arrayAt(validation, "violations");
  brief["revision"] = {{"violations", violations}, {"previousDraft", draftText(c.result("content-execution"))}};
  std::string issues;
  for (const auto& v : violations) issues += (issues.empty() ? "" : "; ") + v.value("message", v.dump());
  return PlannedTurn{"The draft breaks " + std::to_string(violations.size()) + " rule(s) (" + issues +
                         "). Sending it back to the writer once with the violations.",
                     toolUse(c, "content-execution", std::move(brief))};
}

PlannedTurn validateContent(const Context& c) {
  Json draft = c.result("content-execution");  // the newest draft
  std::string content = draftText(draft);
  Json rules = arrayAt(c.result("fetch-canon"), "compliance");
  return {"Checking the draft against " + std::to_string(rules.size()) + " compliance rules.",
          toolUse(c, "validate-content", {{"content", content}, {"rules", rules}})};
}

std::string finalAnswer(const Context& c) {
  std::string label = contentTypeLabel(c.contentType);
  Json knowledge = c.result("knowledge-search");
  Json validation = c.result("validate-content");
  std::string answer = "I've drafted your " + label + " for " + c.topic + ".";
  size_t passages = arrayAt(knowledge, "results").size();
  if (passages > 0) answer += " It draws on " + std::to_string(passages) + " passages from your documents";
  bool researched = c.call("web-search") != nullptr && !c.call("web-search")->isError;
  if (researched) answer += passages > 0 ? " and on web research" : " It draws on web research";
  if (passages > 0 || researched) answer += ".";
  if (validation.is_object()) {
    auto violations = arrayAt(validation, "violations");
    if (validation.value("valid", violations.empty())) {
      answer += " It passes every compliance rule of your canon.";
    } else {
      answer += " Validation found " + std::to_string(violations.size()) + " issue(s):";
      for (const auto& v : violations) answer += " " + v.value("message", v.dump()) + ".";
    }
  }
  for (const auto& call : c.conversation.toolCalls) {
    if (call.isError) {
      answer += " (The " + call.name + " step failed: " + (call.result.is_string() ? call.result.get<std::string>() : call.result.dump()) + ".)";
    }
  }
  answer += " Tell me what to change — tone, length, offer or audience — and I'll revise it.";
  return answer;
}

std::string chatAnswer(const std::string& userText) {
  return "I'm running in offline mode (no AI model is configured), so I can draft marketing content from your canon "
         "and documents but not hold an open conversation. Ask me for an email campaign, an ad, a landing page or a "
         "video script — for example \"Create an email campaign for our spring sale\". You said: \"" +
         userText.substr(0, 200) + "\".";
}

// The marketer graph's intent step (plan_content): the plan as the offline
// model reads the request; a message that asks for no content is chat.
PlannedTurn planContent(const Context& c, const std::optional<std::string>& type) {
  if (!type) return {chatAnswer(c.conversation.userText), std::nullopt};
  std::string topic = extractTopic(c.conversation.userText);
  std::string audience = extractAudience(c.conversation.userText);
  std::string label = contentTypeLabel(*type);
  std::string article = std::string("aeiou").find(label[0]) != std::string::npos ? "an " : "a ";
  Json plan = {{"intent", "create"},
               {"contentType", *type},
               {"objective", c.conversation.userText},
               {"topic", topic},
               {"targetAudience", audience.empty() ? "existing customers and subscribers" : audience},
               {"tone", ""},
               {"knowledgeQuery", topic},
               {"webResearch", true},
               {"webQuery", topic + " " + label + " ideas"},
               {"reasoning", "This is a request for " + article + label + " about " + topic +
                                 ". I'll load the " + *type + " canon first: its templates, frameworks and compliance rules "
                                 "tell me what to look for in your documents."}};
  return {"", toolUse(c, "plan-content", std::move(plan))};
}

}  // namespace

PlannedTurn planNextTurn(const ChatRequest& request) {
  Context context{request, readConversation(request.messages), "", "", {}};
  for (const auto& tool : request.tools) context.offered[normalizeToolName(tool.name)] = tool.name;
  auto type = detectContentType(context.conversation.userText);
  for (const auto& call : context.conversation.toolCalls) {  // a plan already under way keeps its type
    if (!type && call.input.is_object() && call.input.contains("contentType")) type = call.input["contentType"];
  }
  if (context.offered.count("plan-content")) return planContent(context, type);
  if (type && context.offered.empty() && !context.conversation.toolCalls.empty()) {
    context.contentType = *type;  // the steps were run for the model: it only answers
    context.topic = extractTopic(context.conversation.userText);
    return {finalAnswer(context), std::nullopt};
  }
  if (!type || context.offered.empty()) {
    if (type && context.offered.empty()) {
      return {"I can draft that " + contentTypeLabel(*type) + ", but no tools are available in this conversation.", std::nullopt};
    }
    return {chatAnswer(context.conversation.userText), std::nullopt};
  }
  context.contentType = *type;
  context.topic = extractTopic(context.conversation.userText);
  if (auto revision = revisionIfNeeded(context)) return *revision;
  if (context.call("content-execution") != nullptr && context.conversation.toolCalls.back().name == "content-execution" &&
      context.call("validate-content") != nullptr && context.offered.count("validate-content")) {
    return validateContent(context);  // re-validate the revised draft
  }
  for (const auto& step : kPlan) {
    if (!context.offered.count(step) || context.call(step) != nullptr) continue;
    if (step == "validate-content" && context.call("content-execution") == nullptr) continue;
    if (step == "fetch-canon") return fetchCanon(context);
    if (step == "knowledge-search") return knowledgeSearch(context);
    if (step == "web-search") return webSearch(context);
    if (step == "content-execution") return contentExecution(context);
    if (step == "validate-content") return validateContent(context);
  }
  return {finalAnswer(context), std::nullopt};
}

}  // namespace mx::offline
