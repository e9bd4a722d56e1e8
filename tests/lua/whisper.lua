-- A command that answers only the person who ran it (ephemeral), and one
-- that answers the room, for tests/lua/commands_test.lua.
parley.command("whisper", function(cmd)
  cmd:reply("only you see: " .. cmd.args, { ephemeral = true })
end)

parley.command("shout", function(cmd)
  cmd:reply("everyone sees: " .. cmd.args)
end)

parley.on("message", function(ev)
  if ev.text == "try ephemeral here" then
    -- Not a command: an ephemeral answer has no one to go to.
    local ok, err = pcall(function() ev:reply("x", { ephemeral = true }) end)
    parley.send(ev.room, ok and "allowed" or ("refused: " .. tostring(err)))
  end
end)
