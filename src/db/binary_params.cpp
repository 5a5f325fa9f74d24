#include "db/binary_params.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace credvault::db {
namespace {

// Network byte order, as every integer of the binary format.
void AppendUint32(std::string& out, std::uint32_t value) {
  const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
                         static_cast<char>(value)};
  out.append(bytes, sizeof bytes);
}

std::string Uint32Bytes(std::uint32_t value) {
  std::string out;
  AppendUint32(out, value);
  return out;
}

}  // namespace

std::string BinaryInt4(std::int32_t value) { return Uint32Bytes(static_cast<std::uint32_t>(value)); }

BinaryArrayBuilder::BinaryArrayBuilder(ElementType type, std::size_t reserve_bytes) : type_(type) {
  elements_.reserve(kHeaderBytes + reserve_bytes);
  elements_.assign(kHeaderBytes, '\0');  // filled in by Finish()
}

void BinaryArrayBuilder::Require(ElementType type) const {
  if (type == type_) return;
  std::fprintf(stderr, "credvault: BinaryArrayBuilder: element of type %u added to an array of type %u\n",
               static_cast<unsigned>(type), static_cast<unsigned>(type_));
  std::abort();
}

void BinaryArrayBuilder::AddElement(std::string_view bytes) {
  AppendUint32(elements_, static_cast<std::uint32_t>(bytes.size()));
  elements_.append(bytes);
  ++count_;
}

void BinaryArrayBuilder::AddUint32Element(std::uint32_t value) {
  AppendUint32(elements_, 4);  // the element's length
  AppendUint32(elements_, value);
  ++count_;
}

void BinaryArrayBuilder::AddInt4(std::int32_t value) {
  Require(ElementType::kInt4);
  AddUint32Element(static_cast<std::uint32_t>(value));
}

void BinaryArrayBuilder::AddXid(std::uint32_t value) {
  Require(ElementType::kXid);
  AddUint32Element(value);
}

void BinaryArrayBuilder::AddText(std::string_view value) {
  Require(ElementType::kText);
  AddElement(value);
}

void BinaryArrayBuilder::AddNull() {
  AppendUint32(elements_, 0xFFFFFFFFu);  // length -1
  has_null_ = true;
  ++count_;
}

std::string BinaryArrayBuilder::Finish() {
  // Header (array_send): dimensions, has-null flag, element type, then per
  // dimension its length and lower bound. An empty array has no dimension.
  std::string header;
  AppendUint32(header, count_ == 0 ? 0 : 1);
  AppendUint32(header, has_null_ ? 1 : 0);
  AppendUint32(header, static_cast<std::uint32_t>(type_));
  if (count_ > 0) {
    AppendUint32(header, count_);
    AppendUint32(header, 1);
  }
  std::string out = std::exchange(elements_, std::string(kHeaderBytes, '\0'));
  out.replace(0, kHeaderBytes, header);
  count_ = 0;
  has_null_ = false;
  return out;
}

}  // namespace credvault::db
