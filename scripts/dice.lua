-- dice.lua: rolls dice. `/roll 2d6`, `/roll d20`, `/roll 3d6+2`.
--
-- Posts the result as the bot "dice" in the room of the command:
-- "🎲 alice rolled 2d6: 3 + 5 = 8". At most 100 dice of at most 1000 sides.
--
-- Config (all optional):
--   { file = "scripts/dice.lua", options = { max_dice = 100 } }

local max_dice = tonumber(parley.config.max_dice) or 100

local function parse(spec)
  local n, sides, sign, bonus = spec:match("^(%d*)[dD](%d+)([%+%-]?)(%d*)$")
  if not n then return nil end
  n = tonumber(n) or 1
  if n == 0 then n = 1 end
  sides = tonumber(sides)
  bonus = tonumber(bonus) or 0
  if sign == "-" then bonus = -bonus end
  return n, sides, bonus
end

parley.command("roll", {
  help = "rolls dice and posts the result",
  usage = "/roll NdM[+K]",
}, function(cmd)
  local spec = cmd.words[1] or "1d6"
  local n, sides, bonus = parse(spec)
  if not n or sides < 2 or sides > 1000 or n > max_dice then
    cmd:reply(("usage: /roll NdM[+K] (up to %d dice of 2 to 1000 sides)"):format(max_dice))
    return
  end
  local rolls, total = {}, bonus
  for i = 1, n do
    rolls[i] = math.random(sides)
    total = total + rolls[i]
  end
  local shown = table.concat(rolls, " + ")
  if bonus ~= 0 then shown = shown .. (bonus > 0 and " + " or " - ") .. math.abs(bonus) end
  cmd:reply(("🎲 %s rolled %s: %s = %d"):format(cmd.user.name, spec, shown, total))
end)
