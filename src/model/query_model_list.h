// The kinds of query model, one line each, in the order load_query_model() tries them: X(id); the kind's own
// file defines `QueryModelKind <id>_query_model()` (model/query_model.h). Adding an expert type: its file,
// and one line here.
#pragma once

#define RR_QUERY_MODELS(X) \
  X(lora)                  \
  X(full)
