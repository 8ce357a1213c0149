-- Run "bare": GET a JSON endpoint that touches neither database nor cache (the framework's ceiling).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.path = "/bench/bare/"

function init(args)
  common_init()
end
