"""The Lua scripts of the Redis store: each write is one script, so it is atomic.

Why scripts: an event id must be given out (INCR) in the same atomic step that stores the
event and the change it describes, and published in that step too, so pub/sub order is id
order on every instance (DESIGN.md rules 1 and 2).

Shape of every script:
- ARGV[1] is a type spec, one letter per key (t string, h hash, s set, z zset, - any). The
  script checks every key's TYPE first and answers `{"WRONGTYPE", i}` before writing
  anything: Redis does not roll a script back, so nothing may fail after the first write.
- Values a write depends on are checked too (`{"CORRUPT", i}`), and the data the caller
  read is compared (compare-and-set on the conversation's `ver`): `{"RETRY"}` when it moved.
- Scripts that append an event take KEYS[1..3] = counter, global log, conversation events and
  ARGV[2..8] = ms, kind, conversation id, data, bus message head, tail, channel.
"""

from __future__ import annotations

PRELUDE = r"""
local TYPES = {t = 'string', h = 'hash', s = 'set', z = 'zset'}
local function badkey(spec)
  for i = 1, #spec do
    local want = TYPES[string.sub(spec, i, i)]
    if want then
      local got = redis.call('TYPE', KEYS[i])['ok']
      if got ~= 'none' and got ~= want then return i end
    end
  end
  return 0
end
local function isint(v) return v == false or v == nil or tonumber(v) ~= nil end
local function append_event()
  local id = redis.call('INCR', KEYS[1])
  -- Ids never go back, even if the counter was quarantined: the log knows the newest id.
  local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if top[2] and id <= tonumber(top[2]) then
    id = tonumber(top[2]) + 1
    redis.call('SET', KEYS[1], string.format('%d', id))
  end
  local sid = string.format('%d', id)
  redis.call('ZADD', KEYS[3], id, sid .. '\t' .. ARGV[2] .. '\t' .. ARGV[3] .. '\t' .. ARGV[5])
  redis.call('ZADD', KEYS[2], id, sid .. ':' .. ARGV[2] .. ':' .. ARGV[4])
  redis.call('PUBLISH', ARGV[8], ARGV[6] .. sid .. ARGV[7])
  return id
end
local function conv_ok(expected)
  if not isint(redis.call('GET', KEYS[1])) then return {'CORRUPT', 1} end
  local c = redis.call('HMGET', KEYS[4], 'ver', 'joins', 'last_seq', 'last_activity_at')
  if not c[1] then return {'NOTFOUND'} end
  for i = 1, 4 do if not isint(c[i]) then return {'CORRUPT', 4} end end
  if expected ~= nil and c[1] ~= expected then return {'RETRY'} end
  return nil
end
local bad = badkey(ARGV[1])
if bad > 0 then return {'WRONGTYPE', bad} end
"""

# KEYS 4 conv, 5 members, 6 direct (or any key when not direct), 7.. each member's convs.
# ARGV 9 cid, 10 "1" when direct, 11 n = hash field count * 2, then fields, then member ids.
CREATE_CONVERSATION = (
    PRELUDE
    + r"""
if not isint(redis.call('GET', KEYS[1])) then return {'CORRUPT', 1} end
if ARGV[10] == '1' then
  local existing = redis.call('GET', KEYS[6])
  if existing then return {'EXISTS', existing} end
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'EXISTS', ARGV[9]} end
local n = tonumber(ARGV[11])
local fields = {}
for i = 12, 11 + n do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[4], unpack(fields))
local j = 0
for i = 12 + n, #ARGV do
  j = j + 1
  redis.call('ZADD', KEYS[5], j, ARGV[i])
  redis.call('SADD', KEYS[6 + j], ARGV[9])
end
redis.call('HSET', KEYS[4], 'joins', j, 'ver', 1)
if ARGV[10] == '1' then redis.call('SET', KEYS[6], ARGV[9]) end
return {'OK', append_event()}
"""
)

# KEYS 4 conv, 5 members, 6 last message's event set (or any), 7.. each added user's convs.
# ARGV 9 ver, 10 "1" when there is a last message, 11.. added user ids.
ADD_MEMBERS = (
    PRELUDE
    + r"""
local err = conv_ok(ARGV[9])
if err then return err end
for i = 11, #ARGV do
  local order = redis.call('HINCRBY', KEYS[4], 'joins', 1)
  redis.call('ZADD', KEYS[5], order, ARGV[i])
  redis.call('SADD', KEYS[7 + i - 11], ARGV[4])
end
redis.call('HINCRBY', KEYS[4], 'ver', 1)
local id = append_event()
if ARGV[10] == '1' then redis.call('SADD', KEYS[6], id) end
return {'OK', id}
"""
)

# KEYS 4 conv, 5 members, 6 receipts, 7 last message's event set (or any), 8 user's convs.
# ARGV 9 ver, 10 "1" when there is a last message, 11 user id.
REMOVE_MEMBER = (
    PRELUDE
    + r"""
local err = conv_ok(ARGV[9])
if err then return err end
redis.call('ZREM', KEYS[5], ARGV[11])
redis.call('HDEL', KEYS[6], ARGV[11])
redis.call('SREM', KEYS[8], ARGV[4])
redis.call('HINCRBY', KEYS[4], 'ver', 1)
local id = append_event()
if ARGV[10] == '1' then redis.call('SADD', KEYS[7], id) end
return {'OK', id}
"""
)

# KEYS 4 conv, 5 receipts. ARGV 9 ver, 10 user id, 11 old value ('' if none), 12 new value.
UPDATE_RECEIPT = (
    PRELUDE
    + r"""
local err = conv_ok(ARGV[9])
if err then return err end
local current = redis.call('HGET', KEYS[5], ARGV[10]) or ''
if current ~= ARGV[11] then return {'RETRY'} end
redis.call('HSET', KEYS[5], ARGV[10], ARGV[12])
return {'OK', append_event()}
"""
)

# KEYS 4 conv, 5 seqs, 6 live, 7 sent (sender), 8 clients, 9 message, 10 its event set,
#      11 quoted message's replies (or any), 12 quoted message (or any).
# ARGV 9 ver, 10 clients field, 11 message id, 12 seq, 13 record, 14 created_at,
#      15 the quoted message's record as read ('' when not a reply).
APPEND_MESSAGE = (
    PRELUDE
    + r"""
local dup = redis.call('HGET', KEYS[8], ARGV[10])
if dup then return {'DUP', dup} end
local err = conv_ok(ARGV[9])
if err then return err end
if ARGV[15] ~= '' and redis.call('GET', KEYS[12]) ~= ARGV[15] then return {'RETRY'} end
local seq = tonumber(ARGV[12])
redis.call('HSET', KEYS[4], 'last_seq', seq)
local active = tonumber(redis.call('HGET', KEYS[4], 'last_activity_at') or '0')
if tonumber(ARGV[14]) > active then redis.call('HSET', KEYS[4], 'last_activity_at', ARGV[14]) end
redis.call('HINCRBY', KEYS[4], 'ver', 1)
redis.call('SET', KEYS[9], ARGV[13])
redis.call('ZADD', KEYS[5], seq, ARGV[11])
redis.call('ZADD', KEYS[6], seq, ARGV[11])
redis.call('ZADD', KEYS[7], seq, ARGV[11])
redis.call('HSET', KEYS[8], ARGV[10], ARGV[11])
local id = append_event()
redis.call('SADD', KEYS[10], id)
if ARGV[15] ~= '' then redis.call('SADD', KEYS[11], ARGV[11]) end
return {'OK', id}
"""
)

# KEYS 4 conv, 5 message, 6 its event set, 7 live, 8 sent (its sender).
# ARGV 9 ver, 10 old record, 11 new record, 12 "1" when deleting, 13 message id,
#      14.. pairs of (event id, rewritten event member): payloads holding its text.
CHANGE_MESSAGE = (
    PRELUDE
    + r"""
local err = conv_ok(ARGV[9])
if err then return err end
if redis.call('GET', KEYS[5]) ~= ARGV[10] then return {'RETRY'} end
redis.call('SET', KEYS[5], ARGV[11])
if ARGV[12] == '1' then
  redis.call('ZREM', KEYS[7], ARGV[13])
  redis.call('ZREM', KEYS[8], ARGV[13])
end
for i = 14, #ARGV, 2 do
  -- only rewrite what is still kept: a trimmed event must not come back
  if redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[i], ARGV[i]) > 0 then
    redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HINCRBY', KEYS[4], 'ver', 1)
local id = append_event()
redis.call('SADD', KEYS[6], id)
return {'OK', id}
"""
)

# KEYS 1 receipts, 2 live, 3 sent (the user's). ARGV 2 user id.
UNREAD = (
    PRELUDE
    + r"""
local read = 0
local r = redis.call('HGET', KEYS[1], ARGV[2])
if r then
  local rd = string.match(r, '^%d+:(%d+)$')
  if not rd then return {'CORRUPT', 1} end
  read = tonumber(rd)
end
local lo = '(' .. string.format('%d', read)
return {'OK', redis.call('ZCOUNT', KEYS[2], lo, '+inf') - redis.call('ZCOUNT', KEYS[3], lo, '+inf')}
"""
)

# KEYS 1 throttle counter. ARGV 2 window in ms.
THROTTLE_HIT = (
    PRELUDE
    + r"""
if not isint(redis.call('GET', KEYS[1])) then return {'CORRUPT', 1} end
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {'OK', n, ttl}
"""
)

# KEYS 1 the user's presence hash, 2 instances. ARGV 2 instance id, 3 now ms, 4 deadline ms,
# 5 +1 (join) or -1 (leave). Answers whether the user is online elsewhere / was before.
PRESENCE = (
    PRELUDE
    + r"""
local h = redis.call('HGETALL', KEYS[1])
for i = 2, #h, 2 do if not tonumber(h[i]) then return {'CORRUPT', 1} end end
local before, others = false, false
for i = 1, #h, 2 do
  local field, count = h[i], tonumber(h[i + 1])
  if field == ARGV[2] then
    if count > 0 then before = true end
  else
    local deadline = redis.call('ZSCORE', KEYS[2], field)
    if deadline and tonumber(deadline) > tonumber(ARGV[3]) then
      if count > 0 then before = true; others = true end
    else
      -- that instance stopped refreshing its deadline: it died, and its streams with it
      redis.call('HDEL', KEYS[1], field)
    end
  end
end
local mine = redis.call('HINCRBY', KEYS[1], ARGV[2], tonumber(ARGV[5]))
if mine <= 0 then redis.call('HDEL', KEYS[1], ARGV[2]) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
local now = others or mine > 0
return {'OK', before and 1 or 0, now and 1 or 0}
"""
)

# KEYS 1 username, 2 user, 3 user index. ARGV 2 n = field count * 2, fields, index members.
CREATE_USER = (
    PRELUDE
    + r"""
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return {'CONFLICT'}
end
local n = tonumber(ARGV[2])
local fields = {}
for i = 3, 2 + n do fields[#fields + 1] = ARGV[i] end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], unpack(fields))
for i = 3 + n, #ARGV do redis.call('ZADD', KEYS[3], 0, ARGV[i]) end
return {'OK'}
"""
)

# KEYS 1 a record hash. ARGV 2 field, 3 value, 4 "max" to keep the larger integer.
# Changes an existing record only: never creates a half record.
SET_FIELD = (
    PRELUDE
    + r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {'OK', 0} end
if ARGV[4] == 'max' then
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if not isint(v) then return {'CORRUPT', 1} end
  if v and tonumber(v) >= tonumber(ARGV[3]) then return {'OK', 0} end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return {'OK', 1}
"""
)

ALL = {
    "create_conversation": CREATE_CONVERSATION,
    "add_members": ADD_MEMBERS,
    "remove_member": REMOVE_MEMBER,
    "update_receipt": UPDATE_RECEIPT,
    "append_message": APPEND_MESSAGE,
    "change_message": CHANGE_MESSAGE,
    "unread": UNREAD,
    "throttle_hit": THROTTLE_HIT,
    "presence": PRESENCE,
    "create_user": CREATE_USER,
    "set_field": SET_FIELD,
}
