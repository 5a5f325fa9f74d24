#include "cli/cli_docs.hpp"

#include <vector>

#include "cli/exit_codes.hpp"

namespace credvault::cli {
namespace {

struct Described {
  const char* name;
  const char* text;
};

// Kept in step with exit_codes.hpp by the man page test (every code there).
const std::vector<std::pair<int, const char*>> kExitStatus = {
    {kExitOk, "Success."},
    {kExitInternal, "Internal error."},
    {kExitUsage, "Usage error: unknown command or option, bad value, conflicting flags."},
    {kExitConfig, "Configuration or key problem: bad config file, no key, a key the values need is missing, "
                  "an unwritable metrics file."},
    {kExitUnreachable, "The database is unreachable."},
    {kExitRefused, "Refused by a safety check: production guard, capacity preflight, missing --yes."},
    {kExitIntegrity, "Integrity failure: a value that does not decrypt, a checksum or schema drift."},
    {kExitLockBusy, "Lock busy: another migrator holds the lock, or a row job waited too long for row locks."},
    {kExitInterrupted, "Stopped by SIGINT or SIGTERM at a clean batch boundary; rerun to finish."},
};

const std::vector<Described> kEnvironment = {
    {"DATABASE_URL", "PostgreSQL URL, libpq or SQLAlchemy form (postgresql+asyncpg://… works; the driver part is "
                     "dropped). Without it, libpq's PG* variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, …) "
                     "apply."},
    {"CREDVAULT_DIRECT_URL", "A direct URL (no pooler) for the migration lock and the migrations."},
    {"CREDVAULT_DEV_URL", "A scratch database for create --autogenerate and check --schema (default: a temporary "
                          "database on the same server, when the role may create one)."},
    {"SECRET_KEY", "The primary key (base64: or a passphrase). Read once, then wiped from the environment."},
    {"SECRET_KEY_FALLBACKS", "Older keys, comma-separated, for decrypting only."},
    {"CREDVAULT_CONFIG", "The config file (default ./credvault.toml when present)."},
    {"CREDVAULT_ENV", "development, staging or production (default production)."},
    {"CREDVAULT_MIGRATIONS_DIR", "The folder of migration files."},
    {"CREDVAULT_LOG_FORMAT", "text or json."},
    {"CREDVAULT_METRICS_FILE", "Write Prometheus metrics to this file (as --metrics-file)."},
};

const std::vector<Described> kFiles = {
    {"./credvault.toml", "The config file: database_url, migrations_dir, environment, log_format, metrics_file, "
                         "[keys], [migrate], [jobs], [autogenerate]. Flags override the environment, which overrides the file."},
    {"./migrations/", "Migration files, when the folder exists in the current directory."},
    {CREDVAULT_INSTALLED_MIGRATIONS "/", "The installed migrations, used when there is no ./migrations."},
    {"keys/", "Key files (mode 0600) on a host; never in version control."},
};

// Text for a roff body line: backslashes and hyphens escaped, and a line
// starting with . or ' guarded.
std::string Roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string Upper(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return text;
}

std::vector<const CLI::App*> VisibleSubcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

bool TakesValue(const CLI::Option& option) { return option.get_type_size_max() > 0; }

// Options whose value is a file or a folder: completed with file names.
bool TakesPath(const CLI::Option& option) {
  if (!TakesValue(option)) return false;
  const std::string type = option.get_type_name();
  if (type == "FILE" || type == "DIR") return true;
  for (const auto& name : option.get_lnames()) {
    if (name.size() >= 4 && (name.compare(name.size() - 4, 4, "file") == 0 || name.compare(name.size() - 3, 3, "dir") == 0)) {
      return true;
    }
    if (name == "out" || name == "config") return true;
  }
  return false;
}

std::vector<std::string> OptionNames(const CLI::Option& option) {
  std::vector<std::string> names;
  for (const auto& s : option.get_snames()) names.push_back("-" + s);
  for (const auto& l : option.get_lnames()) names.push_back("--" + l);
  return names;
}

std::string OptionsSection(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    out += ".TP\n";
    if (option->get_positional()) {
      out += "\\fI" + Roff(option->get_name(true)) + "\\fR\n";
    } else {
      std::string names;
      for (const auto& name : OptionNames(*option)) names += (names.empty() ? "" : ", ") + ("\\fB" + Roff(name) + "\\fR");
      if (TakesValue(*option)) names += " \\fI" + Roff(option->get_type_name()) + "\\fR";
      out += names + "\n";
    }
    out += Roff(option->get_description()) + "\n";
  }
  return out;
}

std::string CommonSections(const std::string& version) {
  std::string out = ".SH \"EXIT STATUS\"\n";
  for (const auto& [code, text] : kExitStatus) out += ".TP\n.B " + std::to_string(code) + "\n" + Roff(text) + "\n";
  out += ".SH ENVIRONMENT\n";
  for (const auto& [name, text] : kEnvironment) out += ".TP\n.B " + Roff(name) + "\n" + Roff(text) + "\n";
  out += ".SH FILES\n";
  for (const auto& [name, text] : kFiles) out += ".TP\n.I " + Roff(name) + "\n" + Roff(text) + "\n";
  out += ".SH NOTES\nThis page was generated from the command definitions of credvault " + Roff(version) +
         "; \\fBcredvault \\-\\-help\\fR shows the same options.\n";
  return out;
}

std::string Header(const std::string& name, const std::string& version) {
  return ".TH " + Roff(Upper(name)) + " 1 \"\" \"credvault " + Roff(version) + "\" \"User Commands\"\n";
}

std::string SeeAlso(const CLI::App& app, const std::string& self) {
  std::string out = ".SH \"SEE ALSO\"\n";
  std::string list = self == "credvault" ? "" : "\\fBcredvault\\fR(1)";
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    const std::string page = "credvault-" + sub->get_name();
    if (page == self) continue;
    list += (list.empty() ? "" : ",\n") + ("\\fB" + Roff(page) + "\\fR(1)");
  }
  return out + list + "\n";
}

// A command's body: description, then options, then each nested command.
std::string CommandBody(const CLI::App& command, const std::string& path) {
  std::string out = ".SH DESCRIPTION\n" + Roff(command.get_description()) + "\n.SH OPTIONS\n" + OptionsSection(command);
  out += ".PP\nThe global options of \\fBcredvault\\fR(1) are accepted before or after the command.\n";
  for (const CLI::App* nested : VisibleSubcommands(command)) {
    out += ".SH \"" + Roff(Upper(path + " " + nested->get_name())) + "\"\n" + Roff(nested->get_description()) + "\n";
    out += OptionsSection(*nested);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ManPages(const CLI::App& app, const std::string& version) {
  std::map<std::string, std::string> pages;
  std::string main = Header("credvault", version);
  main += ".SH NAME\ncredvault \\- " + Roff(app.get_description().substr(app.get_description().find(": ") + 2)) + "\n";
  main += ".SH SYNOPSIS\n.B credvault\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n";
  main += ".SH DESCRIPTION\n" + Roff(app.get_description()) + "\n";
  main += ".SH COMMANDS\n";
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    main += ".TP\n\\fB" + Roff(sub->get_name()) + "\\fR\n" + Roff(sub->get_description()) + " (\\fBcredvault\\-" +
            Roff(sub->get_name()) + "\\fR(1))\n";
  }
  main += ".SH \"GLOBAL OPTIONS\"\n" + OptionsSection(app) + CommonSections(version) + SeeAlso(app, "credvault");
  pages["credvault.1"] = main;

  for (const CLI::App* sub : VisibleSubcommands(app)) {
    const std::string name = "credvault-" + sub->get_name();
    std::string page = Header(name, version);
    page += ".SH NAME\n" + Roff(name) + " \\- " + Roff(sub->get_description()) + "\n";
    page += ".SH SYNOPSIS\n.B credvault\n[\\fIGLOBAL OPTIONS\\fR] \\fB" + Roff(sub->get_name()) + "\\fR";
    if (!VisibleSubcommands(*sub).empty()) page += " \\fICOMMAND\\fR";
    page += " [\\fIOPTIONS\\fR]\n";
    page += CommandBody(*sub, "credvault " + sub->get_name()) + CommonSections(version) + SeeAlso(app, name);
    pages[name + ".1"] = page;
  }
  return pages;
}

std::string BashCompletion(const CLI::App& app) {
  auto words = [](const CLI::App& command, bool paths_only, bool values_only) {
    std::string out;
    for (const CLI::Option* option : command.get_options()) {
      if (option->get_group().empty() || option->get_positional()) continue;
      if (paths_only && !TakesPath(*option)) continue;
      if (values_only && !TakesValue(*option)) continue;
      for (const auto& name : OptionNames(*option)) out += (out.empty() ? "" : " ") + name;
    }
    return out;
  };
  auto names = [](const CLI::App& command) {
    std::string out;
    for (const CLI::App* sub : VisibleSubcommands(command)) out += (out.empty() ? "" : " ") + sub->get_name();
    return out;
  };
  std::string out =
      "# bash completion for credvault; generated from its command definitions (credvault gen-docs).\n"
      "_credvault() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  local global_opts='" + words(app, false, false) + "'\n"
      "  local global_valued='" + words(app, false, true) + "'\n"
      "  local global_paths='" + words(app, true, false) + "'\n"
      "  local commands='" + names(app) + "'\n"
      "  # The command path so far (\"env set\"), skipping options and their values.\n"
      "  local path='' word i valued=\"$global_valued\"\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    word=${COMP_WORDS[i]}\n"
      "    case \" $valued \" in *\" $word \"*) ((i++)); continue ;; esac\n"
      "    [[ $word == -* ]] && continue\n"
      "    case \"$path\" in\n";
  // One entry per command path: its nested commands, options, valued options.
  std::vector<std::pair<std::string, const CLI::App*>> paths;
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    paths.emplace_back(sub->get_name(), sub);
    for (const CLI::App* nested : VisibleSubcommands(*sub)) paths.emplace_back(sub->get_name() + " " + nested->get_name(), nested);
  }
  out += "      '') case \" $commands \" in *\" $word \"*) path=$word ;; esac ;;\n";
  for (const auto& [path, command] : paths) {
    const std::string nested = names(*command);
    if (nested.empty()) continue;
    out += "      '" + path + "') case ' " + nested + " ' in *\" $word \"*) path=\"$path $word\" ;; esac ;;\n";
  }
  out += "    esac\n"
         "    case \"$path\" in\n";
  for (const auto& [path, command] : paths) {
    out += "      '" + path + "') valued=\"$global_valued " + words(*command, false, true) + "\" ;;\n";
  }
  out += "    esac\n"
         "  done\n"
         "  local opts='' subs='' paths=''\n"
         "  case \"$path\" in\n"
         "    '') subs=$commands ;;\n";
  for (const auto& [path, command] : paths) {
    out += "    '" + path + "') opts='" + words(*command, false, false) + "'; subs='" + names(*command) +
           "'; paths='" + words(*command, true, false) + "' ;;\n";
  }
  out += "  esac\n"
         "  case \" $global_paths $paths \" in\n"
         "    *\" $prev \"*) COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null; return 0 ;;\n"
         "  esac\n"
         "  case \" $valued \" in *\" $prev \"*) COMPREPLY=(); return 0 ;; esac\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$opts $global_opts\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
         "  fi\n"
         "  return 0\n"
         "}\n"
         "complete -F _credvault credvault\n";
  return out;
}

}  // namespace credvault::cli
