// credvault gen-docs (hidden): writes the man pages and the bash completion
// generated from this very command line (cli_docs.hpp). The build runs it;
// the package installs what it writes.
#include <filesystem>
#include <fstream>

#include "cli/cli_docs.hpp"
#include "cli/command.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {
namespace {

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return PermissionDeniedError("cannot write " + path);
  return Status::Ok();
}

}  // namespace

void RegisterGenDocsCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("gen-docs", "Write the man pages and the bash completion (used by the build)");
  sub->group("");  // hidden from --help, the man pages and the completion
  struct Options { std::string man_dir, completion; };
  auto options = std::make_shared<Options>();
  sub->add_option("--man-dir", options->man_dir, "Folder for credvault.1 and credvault-<command>.1")->type_name("DIR");
  sub->add_option("--bash-completion", options->completion, "File for the bash completion script")->type_name("FILE");
  const CLI::App* root = &app;
  commands.Add(sub, [options, root](CommandContext&) -> Status {
    if (!options->man_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(options->man_dir, ec);
      for (const auto& [name, text] : ManPages(*root, CREDVAULT_VERSION)) {
        CV_RETURN_IF_ERROR(WriteText(options->man_dir + "/" + name, text));
      }
    }
    if (!options->completion.empty()) CV_RETURN_IF_ERROR(WriteText(options->completion, BashCompletion(*root)));
    return Status::Ok();
  });
}

}  // namespace credvault::cli
