// Incremental Server-Sent Events decoder (WHATWG HTML §9.2.6).
//
// Feed it the bytes of a stream in chunks split anywhere (even inside a CRLF or
// a UTF-8 character); it calls back once per dispatched event. Lines end with
// CRLF, LF or CR; a leading BOM is stripped; comment lines are skipped; an
// event is dispatched on a blank line if it has data; what is pending at the
// end of the stream is discarded (`hasPendingEvent` tells whether something
// was). Not thread-safe: one decoder per stream. Never blocks.
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "mx/http.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mx::host {

class SseDecoder {
 public:
  template <class OnEvent>
  void feed(std::string_view chunk, OnEvent&& onEvent) {
    forEachLine(chunk, [&](std::string_view line) { processLine(line, onEvent); });
    keepEventSoFar();
  }

  // True if the stream stopped in the middle of an event (it will not be dispatched).
  bool hasPendingEvent() const { return !pendingLine_.empty() || dataSeen_ || !eventType_.empty(); }
  const std::string& lastEventId() const { return lastEventId_; }

 private:
  template <class OnLine>
  void forEachLine(std::string_view chunk, OnLine&& onLine);
  static size_t lineEnd(std::string_view chunk, size_t start);

  template <class OnEvent>
  void processLine(std::string_view line, OnEvent& onEvent) {
    if (line.empty()) {
      dispatch(onEvent);
      return;
    }
    if (line.front() == ':') {
      return;
    }
    std::string_view field;
    std::string_view value;
    splitField(line, field, value);
    if (field == "data") {
      if (!dataSeen_) {
        dataView_ = value;
        dataBorrowed_ = true;
      } else {
        if (dataBorrowed_) keepEventSoFar();
        data_.push_back('\n');
        data_.append(value);
      }
      dataSeen_ = true;
    } else if (field == "event") {
      typeView_ = value;
      typeBorrowed_ = true;
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) {
        lastEventId_.assign(value);
      }
    }
    // "retry" and unknown fields are ignored.
  }

  // "field: value" (the value without its one leading space); a line without
  // a colon is a field with an empty value. The two fields every event has are
  // matched by their prefix before any search for the colon.
  static void splitField(std::string_view line, std::string_view& field, std::string_view& value) {
    size_t colon;
    if (line.size() >= 5 && std::memcmp(line.data(), "data:", 5) == 0) {
      colon = 4;
    } else if (line.size() >= 6 && std::memcmp(line.data(), "event:", 6) == 0) {
      colon = 5;
    } else {
      colon = line.find(':');
    }
    field = line.substr(0, colon);
    value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  template <class OnEvent>
  void dispatch(OnEvent& onEvent) {
    if (dataSeen_) {
      std::string_view type = typeBorrowed_ ? typeView_ : std::string_view(eventType_);
      SseEvent event{type.empty() ? std::string_view("message") : type, dataBorrowed_ ? dataView_ : std::string_view(data_),
                     lastEventId_};
      onEvent(event);
    }
    data_.clear();
    eventType_.clear();
    dataSeen_ = false;
    dataBorrowed_ = false;
    typeBorrowed_ = false;
  }

  // The event read so far points into the chunk being fed (most events come
  // whole in one chunk: their data and type are not copied); copied before the
  // chunk (or a line put together from two) is gone.
  void keepEventSoFar() {
    if (dataBorrowed_) {
      data_.assign(dataView_);
      dataBorrowed_ = false;
    }
    if (typeBorrowed_) {
      eventType_.assign(typeView_);
      typeBorrowed_ = false;
    }
  }

  std::string pendingLine_;
  bool lastChunkEndedWithCr_ = false;
  bool bomChecked_ = false;
  std::string data_;         // the data lines joined by '\n', once kept
  std::string eventType_;    // once kept
  std::string_view dataView_;  // the first data line, while borrowed
  std::string_view typeView_;  // the event type, while borrowed
  bool dataBorrowed_ = false;
  bool typeBorrowed_ = false;
  std::string lastEventId_;
  bool dataSeen_ = false;
};

// The first CR or LF from `start`, in one pass: sixteen bytes a step with
// SSE2. Two memchr calls a line (one for each) cost more in call overhead than
// the scan itself on an event's short lines, and find_first_of called memchr
// once per byte of the haystack.
inline size_t SseDecoder::lineEnd(std::string_view chunk, size_t start) {
  const char* data = chunk.data();
  size_t size = chunk.size();
  size_t at = start;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  for (; at + 16 <= size; at += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(bytes, lf), _mm_cmpeq_epi8(bytes, cr)));
    if (mask != 0) return at + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; at < size; ++at) {
    if (data[at] == '\n' || data[at] == '\r') return at;
  }
  return std::string_view::npos;
}

template <class OnLine>
void SseDecoder::forEachLine(std::string_view chunk, OnLine&& onLine) {
  if (!bomChecked_) {
    // The BOM may itself be split across chunks: wait for three bytes.
    pendingLine_.append(chunk);
    if (pendingLine_.size() < 3 && std::string_view("\xEF\xBB\xBF").substr(0, pendingLine_.size()) == pendingLine_) {
      return;
    }
    bomChecked_ = true;
    std::string buffered = std::move(pendingLine_);
    pendingLine_.clear();
    std::string_view rest(buffered);
    if (rest.substr(0, 3) == "\xEF\xBB\xBF") {
      rest.remove_prefix(3);
    }
    forEachLine(rest, onLine);
    keepEventSoFar();  // `buffered` goes now
    return;
  }
  size_t start = 0;
  if (lastChunkEndedWithCr_ && !chunk.empty() && chunk.front() == '\n') {
    start = 1;  // the LF of a CRLF split across chunks
  }
  lastChunkEndedWithCr_ = false;
  while (start < chunk.size()) {
    size_t end = lineEnd(chunk, start);
    if (end == std::string_view::npos) {
      pendingLine_.append(chunk.substr(start));
      return;
    }
    std::string_view piece = chunk.substr(start, end - start);
    if (pendingLine_.empty()) {
      onLine(piece);
    } else {
      pendingLine_.append(piece);
      std::string line = std::move(pendingLine_);
      pendingLine_.clear();
      onLine(std::string_view(line));
      keepEventSoFar();  // `line` goes now
    }
    if (chunk[end] == '\r') {
      if (end + 1 < chunk.size()) {
        start = chunk[end + 1] == '\n' ? end + 2 : end + 1;
      } else {
        lastChunkEndedWithCr_ = true;
        start = end + 1;
      }
    } else {
      start = end + 1;
    }
  }
}

}  // namespace mx::host
