-- Run "floor": the benchmark-only honest check-in floor (status cache read, gate UPDATE, visit INSERT).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  common_init()
end

function request()
  local i = person_random()
  return json_post("/bench/floor/", string.format('{"nik":"%s","name":"%s"}', nik_for(i), name_for(i)))
end
