-- Registers a built-in command's name: must fail to load
-- (tests/lua/commands_test.lua).
parley.command("me", function(cmd) cmd:reply("mine") end)
