#include "offline_writer.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace mx::offline {
namespace {

TEST(OfflineWriter, FillsTheCanonTemplateFromTheBrief) {
  Json brief = {{"contentType", "email"},
                {"objective", "Create an email campaign for our spring sale"},
                {"targetAudience", "busy parents"},
                {"brandGuidelines", "Acme speaks plainly. We never use hype. Extra sentence."},
                {"templates", {{{"id", "t"}, {"body", "Subject: {{subject}}\n\n{{ hook }}\n\n{{body}}\n\n{{cta}}\n\n{{unsubscribe_footer}}"}}}},
                {"complianceRules", {{{"type", "required_phrase"}, {"phrase", "Acme Inc., 1 Main St"}},
                                     {{"type", "banned_phrase"}, {"phrase", "guaranteed"}}}}};
  std::string text = writeArtifact(brief);
  EXPECT_NE(text.find("Subject: Spring Sale: made for busy parents"), std::string::npos) << text;
  EXPECT_NE(text.find("Acme speaks plainly. We never use hype."), std::string::npos) << text;
  EXPECT_EQ(text.find("Extra sentence"), std::string::npos);
  EXPECT_NE(text.find("Shop the spring sale now"), std::string::npos) << text;
  EXPECT_NE(text.find("Acme Inc., 1 Main St"), std::string::npos) << text;
  EXPECT_EQ(text.find("{{"), std::string::npos);
}

TEST(OfflineWriter, ReadsTheBriefFromTheWriterPrompt) {
  Json brief = readBrief("Write the artifact.\n<brief>{\"contentType\":\"ad\",\"objective\":\"Promote our app\"}</brief>\nThanks");
  EXPECT_EQ(brief["contentType"], "ad");
  Json plain = readBrief("Make a landing page for the webinar");
  EXPECT_EQ(plain["contentType"], "landing-page");
}

TEST(OfflineWriter, DefaultSkeletonPerContentType) {
  for (const char* type : {"email", "ad", "landing-page", "script"}) {
    std::string text = writeArtifact({{"contentType", type}, {"objective", "Launch post for our summer menu"}});
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.find("{{"), std::string::npos) << type;
    EXPECT_NE(text.find("summer menu"), std::string::npos) << type << ": " << text;
  }
}

TEST(OfflineWriter, ARevisionFixesLengthViolations) {
  Json brief = {{"contentType", "email"}, {"objective", "Create an email campaign for our spring sale"},
                {"complianceRules", {{{"id", "short"}, {"type", "max_words"}, {"value", 30}},
                                     {{"id", "unsub"}, {"type", "required_phrase"}, {"phrase", "unsubscribe"}}}}};
  std::string first = writeArtifact(brief);
  brief["revision"] = {{"violations", {{{"ruleId", "short"}, {"message", "too long"}}}}};
  std::string revised = writeArtifact(brief);
  auto count = [](const std::string& t) { std::istringstream in(t); size_t n = 0; for (std::string w; in >> w;) ++n; return n; };
  EXPECT_GT(count(first), 30u);
  EXPECT_LE(count(revised), 30u);
  EXPECT_NE(revised.find("unsubscribe"), std::string::npos);
  EXPECT_EQ(revised.rfind("Subject: ", 0), 0u) << "the subject line must stay its own line";
  EXPECT_NE(revised.find('\n'), std::string::npos) << revised;
}

TEST(OfflineWriter, ARevisionShortensAnOverlongSubjectLine) {
  Json brief = {{"contentType", "email"}, {"objective", "Create an email campaign for our very long named spring clearance sale event"},
                {"complianceRules", {{{"id", "subject"}, {"type", "subject_max_chars"}, {"value", 20}}}}};
  brief["revision"] = {{"violations", {{{"ruleId", "subject"}, {"message", "subject too long"}}}}};
  std::string revised = writeArtifact(brief);
  ASSERT_EQ(revised.rfind("Subject: ", 0), 0u) << revised;
  EXPECT_LE(revised.find('\n') - 9, 20u) << revised;
}

TEST(OfflineWriter, IsDeterministic) {
  Json brief = {{"contentType", "script"}, {"objective", "A video about our coffee subscription"}};
  EXPECT_EQ(writeArtifact(brief), writeArtifact(brief));
}

}  // namespace
}  // namespace mx::offline
