#!/usr/bin/env python3
"""Lists every C++ function longer than a limit (default 80 lines, counted from
the line its declaration starts on to its closing brace) under the given
directories, and exits 1 if there is one.

It is a brace matcher, not a parser: strings, character literals, raw strings
and comments are blanked out first, then every '{' opened at namespace, class or
extern "C" scope whose header has a parameter list at its top level (and is not
a variable initializer or a namespace/class/enum) is a function body. Lambdas
and local classes count towards the function that holds them.
"""
import os
import re
import signal
import sys

SOURCE_SUFFIXES = ('.cpp', '.hpp', '.h', '.cc', '.c')


def blank_literals(text):
    """Returns text with comments and the insides of literals replaced by
    spaces (newlines kept, so line numbers stay right)."""
    out = []
    i, n = 0, len(text)

    def keep_newlines(chunk):
        return ''.join('\n' if c == '\n' else ' ' for c in chunk)

    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(keep_newlines(text[i:j]))
            i = j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(keep_newlines(text[i:j]))
            i = j
        elif c == 'R' and i + 1 < n and text[i + 1] == '"' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_') or text[i - 1] in 'uUL8'):
            m = re.match(r'R"([^()\\ \t\n]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            close = ')' + m.group(1) + '"'
            j = text.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + keep_newlines(text[i + 2:j]))
            i = j
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):
            # A ' after a digit or letter is a digit separator (1'000), not a literal.
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(c + keep_newlines(text[i + 1:j - 1]) + c)
            i = j
        elif c == '#' and (i == 0 or text[i - 1] == '\n' or text[:i].rstrip(' \t').endswith('\n') or not text[:i].strip()):
            # A preprocessor line (with its continuations): not code to match.
            j = i
            while True:
                k = text.find('\n', j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] == '\\':
                    j = k + 1
                    continue
                break
            out.append(keep_newlines(text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return ''.join(out)


SCOPE_KEYWORDS = re.compile(r'^\s*(?:template\s*<.*>\s*)?(?:namespace|class|struct|union|enum|extern)\b', re.S)


def function_name(header):
    """The (qualified) name before the header's first top-level '('."""
    depth = 0
    for idx, ch in enumerate(header):
        if ch == '<':
            depth += 1
        elif ch == '>' and depth:
            depth -= 1
        elif ch == '(' and depth == 0:
            before = header[:idx].rstrip()
            m = re.search(r'((?:[A-Za-z_~][\w]*\s*(?:<[^()]*>)?\s*::\s*)*(?:operator\s*[^\s\w(]+|operator\s+\w[\w:\s\*&<>]*|~?[A-Za-z_]\w*))$', before)
            return re.sub(r'\s+', '', m.group(1)) if m else before.split()[-1] if before.split() else '?'
    return None


def is_function_header(header):
    if SCOPE_KEYWORDS.match(header):
        return False
    if '(' not in header:
        return False
    # An initializer (x = {...}, or a brace-initialized variable) is not a body:
    # a '=' outside parentheses that is not part of an operator name.
    depth = 0
    stripped = re.sub(r'operator\s*[^\s\w(]+', 'operator', header)
    for ch in stripped:
        if ch in '([':
            depth += 1
        elif ch in ')]':
            depth -= 1
        elif ch == '=' and depth == 0:
            return False
    return header.rstrip().endswith(')') or re.search(r'\)\s*[\w\s:,&<>()\-\[\]\*]*$', header) is not None


def long_functions(path, limit):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = blank_literals(f.read())
    results = []
    # Scope stack entries: 'scope' (namespace/class/extern: keep looking for
    # functions inside) or 'body' (a function or initializer: skip).
    stack = []
    header_start = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        in_body = any(kind != 'scope' for kind, _, _ in stack)
        if c == '{':
            if in_body:
                stack.append(('inner', 0, ''))
            else:
                header = text[header_start:i]
                if is_function_header(header):
                    first = len(header) - len(header.lstrip())
                    start_line = text.count('\n', 0, header_start + first) + 1
                    classes = [cls for kind, _, cls in stack if kind == 'scope' and cls]
                    name = '::'.join(classes + [function_name(header) or '?'])
                    stack.append(('body', start_line, name))
                elif SCOPE_KEYWORDS.match(header) and not re.match(r'^\s*enum\b', header):
                    cls = re.search(r'\b(?:class|struct|union)\s+(?:\w+\s+)*?([A-Za-z_]\w*)\s*(?:final\s*)?(?::[^{]*)?$', header)
                    stack.append(('scope', 0, cls.group(1) if cls else ''))
                else:
                    stack.append(('init', 0, ''))
            header_start = i + 1
        elif c == '}':
            if stack:
                kind, start_line, name = stack.pop()
                if kind == 'body':
                    end_line = text.count('\n', 0, i) + 1
                    length = end_line - start_line + 1
                    if length > limit:
                        results.append((length, start_line, name))
            header_start = i + 1
        elif c == ';' and not in_body:
            header_start = i + 1
        elif c == ':' and not in_body and re.search(r'\b(public|private|protected)\s*$', text[header_start:i]):
            header_start = i + 1
        i += 1
    return results


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    limit = 80
    args = argv[1:]
    show_all = False
    if args and args[0] == '--top':
        show_all = True
        args = args[1:]
    if args and args[0].startswith('--limit='):
        limit = int(args[0].split('=', 1)[1])
        args = args[1:]
    if not args:
        print('usage: function_length.py [--top] [--limit=N] DIR...', file=sys.stderr)
        return 2
    found = []
    for root in args:
        walk = [(os.path.dirname(root), None, [os.path.basename(root)])] if os.path.isfile(root) else os.walk(root)
        for dirpath, _, files in walk:
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    path = os.path.join(dirpath, name)
                    for length, line, func in long_functions(path, 0 if show_all else limit):
                        found.append((length, path, line, func))
    found.sort(key=lambda r: (-r[0], r[1], r[2]))
    if show_all:
        for length, path, line, func in found[:20]:
            print(f'{path}:{line}: {func}: {length} lines')
        return 0
    for length, path, line, func in found:
        print(f'{path}:{line}: {func} is {length} lines (limit {limit})')
    if found:
        print(f'{len(found)} function(s) over {limit} lines: break them up', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
