"""The OpenAPI 3 description of the API (served at /api/openapi.json)."""

BIG = 2 ** 62


def _int(desc, lo=-BIG, hi=BIG):
    return {"type": "integer", "minimum": lo, "maximum": hi, "description": desc}


def _param(name, schema, where="query", required=False):
    d = schema.pop("description", "")
    return {"name": name, "in": where, "required": required, "description": d,
            "schema": schema}


NAME = _param("name", {"type": "string", "description": "the stream's table name "
                       "(`name` in /api/streams)"}, "path", True)
CHANNELS = _param("channels", {"type": "string", "description": "comma-separated channel "
                               "names (default: all)"})
BOARD = _param("board", {"type": "string", "description": "only rows of this board (logs "
                         "of several boards: streams with `board: true`)"})


def _json(schema, desc):
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/schemas/Error"}
NUM_OR_NULL = {"type": ["number", "string", "null"]}


def _errors(*codes):
    text = {400: "a bad parameter (named in `parameter`)", 404: "no such stream",
            503: "the database cannot be read, or too many event streams"}
    return {str(c): _json(ERROR, text[c]) for c in codes}


def spec():
    channel = {"type": "object", "required": ["name", "type", "unit"], "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "description": "struct code: b B h H i I f"},
        "unit": {"type": "string"}}}
    stream = {"type": "object", "required": ["name", "stream", "period_us", "channels", "board"],
              "properties": {
                  "name": {"type": "string", "description": "table name: the id in URLs"},
                  "stream": {"type": "string", "description": "the name the board gave"},
                  "period_us": {"type": "integer", "description": "0: stamped per record"},
                  "channels": {"type": "array", "items": channel},
                  "board": {"type": "boolean", "description": "rows carry a board id"}}}
    readings = {"type": "object", "required": ["stream", "columns", "rows", "run_starts",
                                               "next"],
                "properties": {
                    "stream": {"type": "string"},
                    "columns": {"type": "array", "items": {"type": "string"},
                                "description": "row, board_time_us, host_time, [board,] "
                                               "then the channels asked for"},
                    "rows": {"type": "array", "items": {"type": "array", "items": NUM_OR_NULL}},
                    "run_starts": {"type": "array", "items": {"type": "integer"},
                                   "description": "row ids of this page where a run of "
                                                  "`pyb-bridge log` begins: do not join "
                                                  "the line to the row before"},
                    "next": {"type": ["integer", "null"],
                             "description": "pass as `after` for the next page; null: "
                                            "no more rows now"}}}
    series = {"type": "object", "additionalProperties": {"type": "array", "items": NUM_OR_NULL}}
    bucketed = {"type": "object",
                "required": ["stream", "bucket_us", "channels", "t", "n", "min", "max",
                             "next_since"],
                "properties": {
                    "stream": {"type": "string"}, "bucket_us": {"type": "integer"},
                    "channels": {"type": "array", "items": {"type": "string"}},
                    "t": {"type": "array", "items": {"type": "integer"},
                          "description": "bucket start, board time (µs)"},
                    "n": {"type": "array", "items": {"type": "integer"}},
                    "min": series, "max": series,
                    "next_since": {"type": ["integer", "null"]}}}
    stats = {"type": "object", "required": ["stream", "rows", "last_row", "rate_hz",
                                            "frames_lost", "crc_errors", "counters"],
             "properties": {
                 "stream": {"type": "string"},
                 "rows": {"type": "integer"}, "last_row": {"type": "integer"},
                 "first_board_time_us": {"type": ["integer", "null"]},
                 "last_board_time_us": {"type": ["integer", "null"]},
                 "last_host_time": {"type": ["number", "null"]},
                 "rate_hz": {"type": "number"},
                 "nominal_rate_hz": {"type": ["number", "null"]},
                 "frames": {"type": "integer"},
                 "frames_lost": {"type": "integer"}, "crc_errors": {"type": "integer"},
                 "counters": {"type": "object",
                              "additionalProperties": {"type": ["integer", "null"]}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "pyb-bridge", "version": "1",
                 "description": "Read-only access to a SQLite log of pyb-bridge: streams, "
                                "readings, statistics, live events."},
        "paths": {
            "/api/streams": {"get": {
                "summary": "every stream with its channels",
                "responses": {"200": _json({"type": "object", "required": ["streams"],
                                            "properties": {"streams": {
                                                "type": "array", "items": stream}}},
                                           "the streams"), **_errors(503)}}},
            "/api/boards": {"get": {
                "summary": "the boards of a multi-board log (empty for one board)",
                "responses": {"200": _json({"type": "object", "required": ["boards"],
                                            "properties": {"boards": {"type": "array", "items": {
                                                "type": "object", "properties": {
                                                    "board": {"type": ["string", "integer"]},
                                                    "streams": {"type": "array", "items": {
                                                        "type": "string"}}}}}}},
                                           "the boards"), **_errors(503)}}},
            "/api/streams/{name}": {"get": {
                "summary": "one stream", "parameters": [NAME],
                "responses": {"200": _json(stream, "the stream"), **_errors(404, 503)}}},
            "/api/streams/{name}/readings": {"get": {
                "summary": "readings by channel and board time, paged, or min/max per bucket",
                "parameters": [
                    NAME, CHANNELS,
                    _param("since", _int("board time (µs), inclusive")),
                    _param("until", _int("board time (µs), exclusive")),
                    _param("limit", _int("rows (or buckets) at most, default 1000",
                                         1, 10000)),
                    _param("after", _int("cursor: rows after this row id (`next` of the "
                                         "previous page)", 0)),
                    _param("bucket", _int("bucket width (µs): min and max of every channel "
                                          "per bucket instead of rows", 1)),
                    BOARD],
                "responses": {"200": _json({"oneOf": [readings, bucketed]},
                                           "rows, or buckets with `bucket`"),
                              **_errors(400, 404, 503)}}},
            "/api/streams/{name}/stats": {"get": {
                "summary": "rows, rate, frames lost, CRC errors",
                "parameters": [NAME, BOARD],
                "responses": {"200": _json(stats, "the figures"), **_errors(400, 404, 503)}}},
            "/api/streams/{name}/events": {"get": {
                "summary": "Server-Sent Events: `rows` (columns, rows; id = last row id) as "
                           "they are logged, `stats` every second",
                "parameters": [NAME, CHANNELS, BOARD,
                               _param("after", _int("start after this row id (default: "
                                                    "the last one now)", 0))],
                "responses": {"200": {"description": "an event stream",
                                      "content": {"text/event-stream": {
                                          "schema": {"type": "string"}}}},
                              **_errors(400, 404, 503)}}},
        },
        "components": {"schemas": {"Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"},
                           "parameter": {"type": "string",
                                         "description": "the parameter at fault"}}}}},
    }
