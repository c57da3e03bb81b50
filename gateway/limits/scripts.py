"""The two Lua scripts the Redis limiter runs: one reserves a request (checks and counts every limit of
it at once), one settles it (actual usage in place of the estimates). Each runs atomically in Redis, so
every gateway replica sees one exact count.

Layout. A rate limit is a sorted set of entries ``NONCE|WEIGHT`` scored by the millisecond they were
counted at, and a string with the sum of their weights (the requests limit's weights are all 1). An entry
leaves the window ``window_ms`` after it was counted: the reserve script trims expired entries and
subtracts their weights first. A budget is an integer of nano-USD per period (its key names the
period). Time is Redis's own clock (``TIME``), so replicas with skewed clocks still share one window.

Both scripts touch only the keys they are given, all of one tenant, which the caller puts in one hash
slot (``{tenant}`` in every key) so a Redis Cluster runs them too.
"""

from __future__ import annotations

import hashlib

# KEYS: per rate limit i: zset, sum (2n keys); then one key per budget (m keys).
# ARGV: nonce, window_ms, n, m; per rate limit: limit, weight; per budget: budget, estimate, ttl_ms.
# Returns: allowed (1/0); per rate limit: used, reset_ms, retry_ms (-1: never fits); per budget: spent, over.
RESERVE = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nonce, window = ARGV[1], tonumber(ARGV[2])
local n, m = tonumber(ARGV[3]), tonumber(ARGV[4])
local cutoff = now - window

local function weight_of(member)
  return tonumber(string.match(member, '|(%d+)$'))
end

-- Milliseconds until entries of at least `need` weight left the window (oldest first).
local function fits_in(zkey, need)
  local freed, start = 0, 0
  while true do
    local batch = redis.call('ZRANGE', zkey, start, start + 63, 'WITHSCORES')
    if #batch == 0 then return window end
    for k = 1, #batch, 2 do
      freed = freed + weight_of(batch[k])
      if freed >= need then return tonumber(batch[k + 1]) + window - now end
    end
    start = start + 64
  end
end

local allowed = 1
local sums, retries = {}, {}
for i = 1, n do
  local zkey, skey = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, weight = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  local sum = tonumber(redis.call('GET', skey) or '0')
  local expired = redis.call('ZRANGEBYSCORE', zkey, '-inf', cutoff)
  if #expired > 0 then
    for _, member in ipairs(expired) do sum = sum - weight_of(member) end
    redis.call('ZREMRANGEBYSCORE', zkey, '-inf', cutoff)
    if sum > 0 then redis.call('SET', skey, sum, 'KEEPTTL') else redis.call('DEL', skey); sum = 0 end
  end
  sums[i] = sum
  retries[i] = 0
  if weight > limit then
    retries[i] = -1
    allowed = 0
  elseif sum + weight > limit then
    retries[i] = fits_in(zkey, sum + weight - limit)
    allowed = 0
  end
end

local base = 2 * n
local args = 4 + 2 * n
local spent, over = {}, {}
for j = 1, m do
  local budget, estimate = tonumber(ARGV[args + 3 * j - 2]), tonumber(ARGV[args + 3 * j - 1])
  spent[j] = tonumber(redis.call('GET', KEYS[base + j]) or '0')
  over[j] = 0
  if spent[j] + estimate > budget then
    over[j] = 1
    allowed = 0
  end
end

if allowed == 1 then
  for i = 1, n do
    local zkey, skey = KEYS[2 * i - 1], KEYS[2 * i]
    local weight = tonumber(ARGV[4 + 2 * i])
    redis.call('ZADD', zkey, now, nonce .. '|' .. weight)
    sums[i] = redis.call('INCRBY', skey, weight)
    redis.call('PEXPIRE', zkey, window + 1000)
    redis.call('PEXPIRE', skey, window + 1000)
  end
  for j = 1, m do
    local key = KEYS[base + j]
    spent[j] = redis.call('INCRBY', key, tonumber(ARGV[args + 3 * j - 1]))
    redis.call('PEXPIRE', key, tonumber(ARGV[args + 3 * j]))
  end
end

local out = {allowed}
for i = 1, n do
  local oldest = redis.call('ZRANGE', KEYS[2 * i - 1], 0, 0, 'WITHSCORES')
  local reset = 0
  if #oldest > 0 then reset = tonumber(oldest[2]) + window - now end
  table.insert(out, sums[i])
  table.insert(out, reset)
  table.insert(out, retries[i])
end
for j = 1, m do
  table.insert(out, spent[j])
  table.insert(out, over[j])
end
return out
"""

# KEYS: per token limit i: zset, sum (2n keys); then one key per budget (m keys).
# ARGV: nonce, n, m; per token limit: reserved weight, actual weight; per budget: delta (nano-USD).
# An entry that already left the window, or a budget whose period ended, is left alone.
SETTLE = r"""
local nonce, n, m = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local zkey, skey = KEYS[2 * i - 1], KEYS[2 * i]
  local old, new = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
  local member = nonce .. '|' .. old
  local score = redis.call('ZSCORE', zkey, member)
  if score then
    redis.call('ZREM', zkey, member)
    redis.call('ZADD', zkey, score, nonce .. '|' .. new)
    redis.call('INCRBY', skey, tonumber(new) - tonumber(old))
  end
end
for j = 1, m do
  local key = KEYS[2 * n + j]
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, tonumber(ARGV[3 + 2 * n + j])) end
end
return 1
"""


def sha1(script: str) -> str:
    """The digest Redis knows a loaded script by (EVALSHA)."""
    return hashlib.sha1(script.encode()).hexdigest()  # Redis's own script id, not a security use
