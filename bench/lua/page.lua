-- Run "page": the visitor's form POST to /c/<code>/ (a first visit: consent given, "remember this phone" on).
-- The CSRF token is static: the cookie and the field carry the same unmasked 32-character secret.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  common_init()
end

local function form_escape(text)
  return (string.gsub(text, " ", "+"))
end

function request()
  local i = person_random()
  local body = string.format(
    "csrfmiddlewaretoken=%s&nik=%s&name=%s&phone=%s&consent=on&remember=on&nonce=%s",
    cfg.csrf, nik_for(i), form_escape(name_for(i)), phone_for(i), nonce_next()
  )
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. cfg.csrf,
  }
  return wrk.format("POST", "/c/" .. code_random(cfg.codes) .. "/", headers, body)
end
