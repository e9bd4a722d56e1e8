-- A script that misbehaves on demand, for hostile_test.lua and
-- tests/integration/test_scripts.py. Each command or message word
-- triggers one kind of misbehaviour; /ping shows the script still works.

local hoard = {}

parley.command("ping", function(cmd) cmd:reply("pong") end)

-- infinite loops, in every kind of handler
parley.on("before_message", function(m)
  if m.text == "loop-before" then while true do end end
  if m.text == "sleep-before" then parley.sleep(1) end
  if m.text == "yield-before" then coroutine.yield() end
  if m.text == "error-before" then error("thrown in before_message") end
end)
parley.on("message", function(m)
  if m.text == "loop-message" then while true do end end
  if m.text == "error-message" then error("thrown in message") end
end)
parley.on("join", function(e)
  if e.room_name == "trap" then while true do end end
end)
parley.on("leave", function(e)
  if e.room_name == "trap" then while true do end end
end)
parley.on("reaction", function(r)
  if r.emoji == "🔁" then while true do end end
end)
parley.on("user_created", function(e)
  if e.user.name == "looper" then while true do end end
end)
parley.command("spin-after-http", function()
  local res = parley.http.request{url = "http://api.example.org/x"}
  while true do end
end)
parley.command("spin-after-sleep", function()
  parley.sleep(5)
  while true do end
end)
parley.command("spin", function() while true do end end)
parley.command("spin-pcall", function()
  -- catching the budget error does not help: it fires again at once
  while true do pcall(function() while true do end end) end
end)
parley.command("spin-coroutine", function()
  while true do coroutine.resume(coroutine.create(function() while true do end end)) end
end)
parley.command("spin-timer", function(cmd)
  parley.timer(1, function() while true do end end)
  cmd:reply("timer set")
end)
parley.command("error-timer", function(cmd)
  parley.timer(1, function() error("thrown in a timer") end)
  cmd:reply("timer set")
end)
parley.command("error-http", function(cmd)
  local res = parley.http.request{url = "http://api.example.org/x"}
  error("thrown after http: " .. tostring(res and res.status))
end)

-- memory
parley.command("hoard", function()
  while true do hoard[#hoard + 1] = ("x"):rep(1e6) end
end)
parley.command("hoard-release", function(cmd)
  hoard = {}
  collectgarbage()
  cmd:reply("released")
end)
parley.command("rep", function() local s = ("x"):rep(1e12) end)
parley.command("rep-sep", function() local s = ("x"):rep(1e9, ",") end)
parley.command("recurse", function()
  local function f(n) return 1 + f(n + 1) end
  f(1)
end)
parley.command("concat", function()
  local s = "x"
  for i = 1, 64 do s = s .. s end
end)

-- escapes: report what the sandbox lets through
parley.command("probe", function(cmd)
  local found = {}
  local function note(name, value) if value ~= nil then found[#found + 1] = name end end
  note("io", rawget(_G, "io"))
  note("debug", rawget(_G, "debug"))
  note("package", rawget(_G, "package"))
  note("dofile", rawget(_G, "dofile"))
  note("loadfile", rawget(_G, "loadfile"))
  note("os.execute", os.execute)
  note("os.getenv", os.getenv)
  note("os.remove", os.remove)
  note("os.exit", os.exit)
  note("string.dump", string.dump)
  note("collectgarbage-ok", nil)
  -- bytecode: a precompiled chunk's signature is "\27Lua"
  local ok_bc = pcall(load, "\27LuaT\0\25\147\r\n\26\n")
  local f = load("\27LuaT\0\25\147\r\n\26\n")
  note("bytecode-load", f)
  -- require outside lib/
  note("require-escape", (pcall(require, "../../etc/passwd")) or nil)
  note("require-dot", (pcall(require, "os")) or nil)
  -- host objects are locked
  local mt = getmetatable(cmd)
  if mt ~= "locked" then found[#found + 1] = "ctx-metatable" end
  if pcall(setmetatable, cmd, {}) then found[#found + 1] = "ctx-setmetatable" end
  local bot = parley.bot{name = "hostile_helper"}
  if getmetatable(bot) ~= "locked" then found[#found + 1] = "bot-metatable" end
  -- the parley table is the script's own: changing it harms no one else
  cmd:reply("escapes: " .. (#found > 0 and table.concat(found, ",") or "none"))
end)

-- http off the allow-list
parley.command("fetch", function(cmd)
  local res, err = parley.http.request{url = cmd.args}
  cmd:reply(res and ("status " .. res.status .. ": " .. res.body) or ("refused: " .. err))
end)

-- kv and sleep from places that may not wait
parley.command("bad-coroutine-sleep", function(cmd)
  local ok, err = coroutine.resume(coroutine.create(function() parley.sleep(1) end))
  cmd:reply(ok and "slept" or ("refused: " .. tostring(err)))
end)

-- too many posts in one handler
parley.command("flood", function(cmd)
  for i = 1, 1000 do parley.send(cmd.room, "flood " .. i) end
end)

-- log flooding
parley.command("chatter", function(cmd)
  for i = 1, 5000 do parley.log.info("line", i) end
  cmd:reply("said a lot")
end)
