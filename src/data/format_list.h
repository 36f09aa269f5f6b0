// The source formats, one line each, in the order `convert --help` lists them: X(id); the format's own file
// defines `FormatInfo <id>_format()` (data/source_format.h). Adding a format: its file, and one line here.
#pragma once

#define RR_FORMATS(X) \
  X(smart)            \
  X(dictd)            \
  X(beir)             \
  X(beir_generated)   \
  X(released)
