// Statement parameters in PostgreSQL's binary wire format: the bytes a type's
// receive function reads (int4recv, textrecv, array_recv). The row jobs send
// each batch as arrays of thousands of values; in binary form the server
// copies every element into place by its length instead of scanning a text
// array literal for quotes, escapes and commas, which made the batch write
// about a quarter faster and needs no escaping on our side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace credvault::db {

// Binary parameters, $1 first. A binary parameter has no SQL type of its own:
// the statement must give each one (`$1::integer[]`, `$2::xid[]`), and the
// bytes must be that type's binary form.
using BinaryParams = std::vector<std::string>;

// An int4 (`integer`) in binary form.
std::string BinaryInt4(std::int32_t value);

// A one-dimensional array (lower bound 1) of one element type, built element
// by element; Finish() returns its binary form. Adding an element of another
// type than the array's is a programming error (it aborts).
class BinaryArrayBuilder {
 public:
  enum class ElementType : std::uint32_t { kInt4 = 23, kText = 25, kXid = 28 };  // pg_type OIDs

  // `reserve_bytes`: the elements' total size, if known, to allocate once.
  explicit BinaryArrayBuilder(ElementType type, std::size_t reserve_bytes = 0);

  void AddInt4(std::int32_t value);
  void AddXid(std::uint32_t value);
  // Any bytes; the server checks them against its encoding as for text input.
  void AddText(std::string_view value);
  void AddNull();

  std::size_t size() const { return count_; }

  // The array's binary form; the builder is empty afterwards.
  std::string Finish();

 private:
  void Require(ElementType type) const;
  void AddElement(std::string_view bytes);
  // A four-byte element (int4, xid) appended in place, with no temporary.
  void AddUint32Element(std::uint32_t value);

  // Room for the header of a non-empty array, written last.
  static constexpr std::size_t kHeaderBytes = 20;

  ElementType type_;
  std::string elements_;  // the header's room, then each element: int32 length (-1 for NULL), the bytes
  std::uint32_t count_ = 0;
  bool has_null_ = false;
};

}  // namespace credvault::db
