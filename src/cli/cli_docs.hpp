// Man pages and bash completion generated from the CLI11 definition itself,
// so they list exactly the commands and options `--help` shows. Run at build
// time through the hidden `credvault gen-docs` command (cmd_gen_docs.cpp).
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

namespace credvault::cli {

// File name ("credvault.1", "credvault-rotate.1", …) → roff text: one page
// for the tool (global options, every command) and one per command, each
// with EXIT STATUS, ENVIRONMENT and FILES. Hidden commands are left out.
std::map<std::string, std::string> ManPages(const CLI::App& app, const std::string& version);

// A bash completion script for `credvault`: commands, nested commands,
// each command's flags and the global ones, and file names after options
// that take a file or folder.
std::string BashCompletion(const CLI::App& app);

}  // namespace credvault::cli
