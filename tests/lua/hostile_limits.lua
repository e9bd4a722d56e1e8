-- A script that spends its budgets on demand, for hostile_limits_test.lua:
-- pathological patterns, many timers each within its own slice budget,
-- and a kv space filled without end.

parley.command("ping", function(cmd) cmd:reply("pong") end)

-- Lua's own matcher backtracks for seconds on these and cannot be stopped.
parley.command("find", function(cmd)
  string.find(("a"):rep(400), ("a*"):rep(20) .. "b")
  cmd:reply("find returned")
end)
parley.command("gsub", function(cmd)
  local s = ("a"):rep(400)
  s:gsub(("a-"):rep(10) .. "b", "x")
  cmd:reply("gsub returned")
end)
parley.command("gmatch", function(cmd)
  for _ in (("a"):rep(400)):gmatch(("a?"):rep(30) .. ("a"):rep(30) .. "b") do end
  cmd:reply("gmatch returned")
end)
parley.command("find-pcall", function(cmd)
  -- catching the budget error does not help
  for i = 1, 100 do pcall(string.find, ("a"):rep(400), ("a*"):rep(20) .. "b") end
  cmd:reply("find-pcall returned")
end)

-- Each timer stays under the slice budget (instructions = 1M); together
-- they would hold the loop for seconds.
local function burn()
  local x = 0
  for i = 1, 150000 do x = x + i end
  return x
end
parley.command("burn", function(cmd)
  for i = 1, tonumber(cmd.args) do parley.timer(1, burn) end
  cmd:reply("timers set")
end)

parley.command("timers", function(cmd)
  local n, err = 0, nil
  for i = 1, tonumber(cmd.args) do
    local ok, e = pcall(parley.timer, 60, function() end)
    if not ok then err = e break end
    n = n + 1
  end
  cmd:reply(n .. " timers; " .. tostring(err))
end)

-- /kv-keys N: N keys of 10 bytes; /kv-big N: one value of N bytes.
parley.command("kv-keys", function(cmd)
  local n = 0
  for i = 1, tonumber(cmd.args) do
    local ok, err = parley.kv.set("k" .. i, "0123456789")
    if not ok then cmd:reply(n .. " keys; " .. tostring(err)) return end
    n = n + 1
  end
  cmd:reply(n .. " keys")
end)
parley.command("kv-big", function(cmd)
  local ok, err = parley.kv.set("big", ("x"):rep(tonumber(cmd.args)))
  cmd:reply(ok and "stored" or ("refused: " .. tostring(err)))
end)
parley.command("kv-incr", function(cmd)
  local v, err = parley.kv.incr(cmd.args)
  cmd:reply(v and ("value " .. v) or ("refused: " .. tostring(err)))
end)
parley.command("kv-delete", function(cmd)
  cmd:reply(tostring(parley.kv.delete(cmd.args)))
end)
