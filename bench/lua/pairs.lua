-- Runs "checkin_checkout" and "hotspot": check-ins of random people, and check-outs of the people this thread
-- got in. A thread keeps up to cfg.hold people inside (1: out right after in); over the whole run the demand
-- (threads x hold) is what presses on the offices' capacity.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  common_init()
  inside = {}
  last = nil
end

local function checkin()
  local i = person_random()
  local code = code_random(cfg.codes)
  last = { action = "in", person = i, code = code }
  local body = string.format(
    '{"entrance":"%s","nik":"%s","name":"%s","phone":"%s","nonce":"%s"}',
    code, nik_for(i), name_for(i), phone_for(i), nonce_next()
  )
  return json_post("/api/v1/checkins/", body)
end

local function checkout()
  local person = table.remove(inside, 1)
  last = { action = "out", person = person.person, code = person.code }
  return json_post(
    "/api/v1/checkouts/",
    string.format('{"entrance":"%s","nik":"%s","name":"%s"}', person.code, nik_for(person.person), name_for(person.person))
  )
end

function request()
  if #inside >= cfg.hold or (#inside > 0 and math.random() < cfg.leave_probability) then
    return checkout()
  end
  return checkin()
end

function response(status, headers, body)
  local outcome, reason = count_response(status, body)
  -- Only a new admission is ours to check out; "already_inside" belongs to whoever got that person in.
  if last and last.action == "in" and status == 200 and outcome == "admitted" and reason == "ok" then
    table.insert(inside, { person = last.person, code = last.code })
  end
  last = nil
end
