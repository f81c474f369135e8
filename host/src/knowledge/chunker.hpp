// Splits a document into chunks for retrieval, by structure: HTML is reduced
// to text with its headings kept as Markdown headings; Markdown and text are
// cut into sections at headings and into paragraphs at blank lines;
// paragraphs are packed into chunks of at most `maxChars` (a longer paragraph
// is cut at sentence ends), and each chunk starts with the tail of the
// previous one (`overlapChars`) so that a passage cut in two is still found.
// Every chunk remembers its heading path ("Guide > Email > Subject lines").
// Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace mx::host::knowledge {

struct Chunk {
  std::string heading;
  std::string text;
};

struct ChunkOptions {
  size_t maxChars = 1200;
  size_t overlapChars = 200;
};

std::string htmlToText(const std::string& html);
std::vector<Chunk> chunkDocument(const std::string& content, const std::string& format, const ChunkOptions& options);

}  // namespace mx::host::knowledge
