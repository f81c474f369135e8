#include "offline_writer.hpp"

#include <gtest/gtest.h>

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

TEST(OfflineWriter, IsDeterministic) {
  Json brief = {{"contentType", "script"}, {"objective", "A video about our coffee subscription"}};
  EXPECT_EQ(writeArtifact(brief), writeArtifact(brief));
}

}  // namespace
}  // namespace mx::offline
