// credvault put: store credentials for an account from a JSON object on stdin
// ({"client_id": ..., "client_secret": ..., "refresh_token": ...}, any subset).
// Secrets are never taken from argv, which every user of the host can read.
#include <sodium.h>
#include <unistd.h>

#include <map>

#include <nlohmann/json.hpp>

#include "cli/audit.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/read_all.hpp"
#include "cli/vault_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {
namespace {

// A SAX handler that accepts exactly one flat object of string fields and
// copies each value into SecretBytes, wiping the parser's own copy.
class CredentialsReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::map<std::string, SecretBytes> fields;
  std::string error;

  bool key(string_t& name) override {
    if (name != "client_id" && name != "client_secret" && name != "refresh_token") {
      return Fail("unknown field '" + name + "' (expected client_id, client_secret, refresh_token)");
    }
    if (fields.count(name) != 0) return Fail("field '" + name + "' given twice");
    current_key_ = name;
    return true;
  }
  bool string(string_t& value) override {
    if (depth_ != 1 || current_key_.empty()) return Fail("expected a JSON object of strings");
    fields.emplace(current_key_, SecretBytes::FromString(value));
    sodium_memzero(value.data(), value.size());
    current_key_.clear();
    return true;
  }
  bool start_object(std::size_t) override {
    if (++depth_ != 1) return Fail("nested objects are not accepted");
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool null() override { return Fail("null is not accepted: leave the field out to keep its value"); }
  bool boolean(bool) override { return Fail("values must be strings"); }
  bool number_integer(number_integer_t) override { return Fail("values must be strings"); }
  bool number_unsigned(number_unsigned_t) override { return Fail("values must be strings"); }
  bool number_float(number_float_t, const string_t&) override { return Fail("values must be strings"); }
  bool binary(binary_t&) override { return Fail("values must be strings"); }
  bool start_array(std::size_t) override { return Fail("arrays are not accepted"); }
  bool end_array() override { return false; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    return Fail("stdin is not valid JSON (at byte " + std::to_string(position) + ")");
  }

 private:
  bool Fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  int depth_ = 0;
  std::string current_key_;
};

}  // namespace

void RegisterPutCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "put", "Store credentials for an account from JSON on stdin ({client_id, client_secret, refresh_token}, any subset)");
  struct Options { long long account = 0; };
  auto options = std::make_shared<Options>();
  sub->add_option("--account", options->account, "accounts.id of the account")->required()->check(WholeNumber(1, kMaxAccountId));
  commands.Add(sub, [options](CommandContext& context) -> Status {
    if (isatty(STDIN_FILENO)) context.log().info("reading JSON credentials from stdin (end with Ctrl-D)");
    StatusOr<SecretBytes> read = ReadAll(STDIN_FILENO);
    if (!read.ok()) return UsageError("put: stdin: " + read.status().message());
    const SecretBytes& input = *read;
    CredentialsReader reader;
    bool parsed = nlohmann::json::sax_parse(input.view().begin(), input.view().end(), &reader);
    if (!parsed || !reader.error.empty()) {
      return UsageError("put: " + (reader.error.empty() ? std::string("stdin is not a JSON object") : reader.error));
    }
    if (reader.fields.empty()) {
      return UsageError("put: give at least one of client_id, client_secret, refresh_token on stdin");
    }
    CredentialsUpdate update;
    auto view_of = [&](const char* name) -> std::optional<std::string_view> {
      auto it = reader.fields.find(name);
      if (it == reader.fields.end()) return std::nullopt;
      return it->second.view();
    };
    update.client_id = view_of("client_id");
    update.client_secret = view_of("client_secret");
    update.refresh_token = view_of("refresh_token");

    CV_ASSIGN_OR_RETURN(Vault vault, OpenVault(context));
    CV_RETURN_IF_ERROR(vault.PutCredentials(options->account, update));
    std::string stored;
    std::vector<std::string> names;
    for (const auto& [name, value] : reader.fields) {
      stored += (stored.empty() ? "" : ", ") + name;
      names.push_back(name);
    }
    // Which fields, never their values.
    CV_RETURN_IF_ERROR(RecordEvent(context, "put",
                                   migrate::EventDetails()
                                       .AddCount("account", static_cast<unsigned long long>(options->account))
                                       .AddTextList("fields", names)
                                       .AddText("kid", vault.keyring().primary_kid())));
    context.log().info("stored {} for account {} under key {}", stored, options->account,
                       vault.keyring().primary_kid());
    return Status::Ok();
  });
}

}  // namespace credvault::cli
