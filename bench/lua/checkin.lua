-- Run "checkin": API check-ins of random people at random entrances, as a phone sends them.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  common_init()
end

function request()
  local i = person_random()
  local body = string.format(
    '{"entrance":"%s","nik":"%s","name":"%s","phone":"%s","nonce":"%s"}',
    code_random(cfg.codes), nik_for(i), name_for(i), phone_for(i), nonce_next()
  )
  return json_post("/api/v1/checkins/", body)
end
