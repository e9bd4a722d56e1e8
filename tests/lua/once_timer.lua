-- A script with keyed one-shot timers (parley.timer(secs, fn, {once = key})),
-- for once_timer_test.lua.
local handles = {}

parley.command("later", { help = "posts the text in 5 s", usage = "/later TEXT" }, function(cmd)
  handles[cmd.args] = parley.timer(5, function()
    parley.send(cmd.room, "later: " .. cmd.args)
  end, { once = "later:" .. cmd.args })
  cmd:reply("scheduled")
end)

parley.command("never", { help = "cancels one", usage = "/never TEXT" }, function(cmd)
  cmd:reply(tostring(handles[cmd.args]:cancel()))
end)

parley.command("badonce", { help = "a bad key", usage = "/badonce empty|long|number" }, function(cmd)
  local opts = ({ empty = { once = "" }, long = { once = string.rep("k", 101) },
                  notable = "once" })[cmd.args]
  local ok, err = pcall(parley.timer, 1, function() end, opts)
  cmd:reply(ok and "accepted" or tostring(err))
end)
