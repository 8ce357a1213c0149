-- Shared by the benchmark's wrk scripts: person i's NIK, name and phone (the same formulas as bench/people.py),
-- status-class and outcome counting per thread, and a JSON summary written by done().
-- Each script runs with one connection per thread, so response() always follows that thread's own request.

cfg = dofile(os.getenv("BENCH_LUA_CONFIG"))

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function common_init()
  math.randomseed(cfg.seed + id * 7919)
  counts = { s1xx = 0, s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0 }
  outcomes = {}
  sent = 0
end

function nik_for(i)
  local serial = i % 9999 + 1
  local block = math.floor(i / 9999)
  local day = block % 28 + 1
  if i % 2 == 1 then day = day + 40 end
  local month = math.floor(i / 7) % 12 + 1
  local year = (60 + i % 40) % 100
  return string.format("517101%02d%02d%02d%04d", day, month, year, serial)
end

function name_for(i)
  local first = cfg.first_names[i % #cfg.first_names + 1]
  local family = cfg.family_names[math.floor(i / #cfg.first_names) % #cfg.family_names + 1]
  return first .. " " .. family
end

function phone_for(i)
  return string.format("0812%08d", i)
end

function person_random()
  return math.random(0, cfg.people - 1)
end

function code_random(codes)
  return codes[math.random(1, #codes)]
end

function nonce_next()
  sent = sent + 1
  return string.format("%s-%d-%d", cfg.salt, id, sent)
end

function json_post(path, body)
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

-- Counts the status class and, when the body names one, the public outcome; returns the outcome and reason.
function count_response(status, body)
  local class = "s" .. math.floor(status / 100) .. "xx"
  counts[class] = (counts[class] or 0) + 1
  local outcome, reason = nil, nil
  if body then
    outcome = string.match(body, '"outcome":"([%a_]+)"') or string.match(body, 'data%-outcome="([%a_]+)"')
    reason = string.match(body, '"reason":"([%a_]+)"')
  end
  local key = string.format("%d %s", status, outcome or "-")
  outcomes[key] = (outcomes[key] or 0) + 1
  return outcome, reason
end

function response(status, headers, body)
  count_response(status, body)
end

local function json_value(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      table.insert(parts, string.format("%q:%s", tostring(k), json_value(v)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(value) == "string" then
    return string.format("%q", value)
  elseif type(value) == "number" and (value ~= value or value == math.huge or value == -math.huge) then
    return "null"
  else
    return tostring(value)
  end
end

function done(summary, latency, requests)
  local total_counts, total_outcomes = {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("counts") or {}) do total_counts[k] = (total_counts[k] or 0) + v end
    for k, v in pairs(thread:get("outcomes") or {}) do total_outcomes[k] = (total_outcomes[k] or 0) + v end
  end
  local result = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      p50 = latency:percentile(50), p90 = latency:percentile(90), p95 = latency:percentile(95),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
      max = latency.max, mean = latency.mean, stdev = latency.stdev,
    },
    status = total_counts,
    outcomes = total_outcomes,
  }
  local file = assert(io.open(cfg.out, "w"))
  file:write(json_value(result))
  file:close()
end
