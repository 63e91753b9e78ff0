"""Lua scripts of the L2 protocol; each runs atomically in Redis.

Values: ``v<version>:<json>`` is a document, ``v<version>:`` a tombstone (refetch, and store
only that version or newer), ``n<generation>`` a negative entry valid while the insert
generation is unchanged. A fill needs the lease its lookup took; every write deletes the lease.
"""

# A version never moves backwards: a document or tombstone replaces a value only when its
# version is higher, or equal and it brings the body a tombstone lacks. Versions are compared as
# decimal strings (no leading zeros), never as Lua numbers: those are doubles, exact only to 2^53.
_CURRENT_VERSION = """
local function current_version(value)
  if not value or string.byte(value, 1) ~= 118 then return nil, false end
  local sep = string.find(value, ':', 2, true)
  return string.sub(value, 2, sep - 1), sep < #value
end
local function older(a, b)
  if #a ~= #b then return #a < #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end
local function plus_one(a)
  local digits = {string.byte(a, 1, -1)}
  local i = #digits
  while i > 0 and digits[i] == 57 do
    digits[i] = 48
    i = i - 1
  end
  if i == 0 then return '1' .. string.char(unpack(digits)) end
  digits[i] = digits[i] + 1
  return string.char(unpack(digits))
end
"""

# KEYS: generation, then entry and lease of each id. ARGV: lease ms, fresh generation, generation ms,
# then a lease token per id. Returns per id {1, value} hit, {2} absent, {3, generation} miss with the
# lease, {4} busy (another reader holds the lease). One call looks up every id of a batch.
LOOKUP = """
local generation = nil
local out = {}
for i = 1, (#KEYS - 1) / 2 do
  local value = redis.call('GET', KEYS[2 * i])
  local hit = false
  if value and string.byte(value, 1) == 118 then
    hit = string.find(value, ':', 2, true) < #value
  end
  if hit then
    out[i] = {1, value}
  else
    if not generation then
      generation = redis.call('GET', KEYS[1])
      if not generation then
        generation = ARGV[2]
        redis.call('SET', KEYS[1], generation, 'PX', ARGV[3])
      end
    end
    if value and string.byte(value, 1) == 110 and string.sub(value, 2) == generation then
      out[i] = {2}
    elseif redis.call('SET', KEYS[2 * i + 1], ARGV[3 + i], 'NX', 'PX', ARGV[1]) then
      out[i] = {3, generation}
    else
      out[i] = {4}
    end
  end
end
return out
"""

# Redis Cluster's lookup (``slots.ClusterLookup``), for one hash slot: the generation key is in another
# slot, so it is read after this script and negative entries are judged there. KEYS: entry and lease of
# each id. ARGV: lease ms, '1' to take negative entries for misses, then a lease token per id. Returns
# per id {1, value} hit, {3} miss with the lease, {4} busy, {5, generation} a negative entry (no lease).
LOOKUP_SLOT = """
local out = {}
for i = 1, #KEYS / 2 do
  local value = redis.call('GET', KEYS[2 * i - 1])
  if value and string.byte(value, 1) == 118 and string.find(value, ':', 2, true) < #value then
    out[i] = {1, value}
  elseif value and string.byte(value, 1) == 110 and ARGV[2] ~= '1' then
    out[i] = {5, string.sub(value, 2)}
  elseif redis.call('SET', KEYS[2 * i], ARGV[2 + i], 'NX', 'PX', ARGV[1]) then
    out[i] = {3}
  else
    out[i] = {4}
  end
end
return out
"""

# KEYS: entry and lease of each fill. ARGV: ttl ms, then lease token, version and body of each.
# Returns per fill 1 stored (or already there), 0 refused: the lease was revoked by a write or
# expired, or a newer version is stored.
FILL = (
    _CURRENT_VERSION
    + """
local out = {}
for i = 1, #KEYS / 2 do
  local entry, lease = KEYS[2 * i - 1], KEYS[2 * i]
  local token, version, body = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  out[i] = 0
  if redis.call('GET', lease) == token then
    redis.call('DEL', lease)
    local current, has_body = current_version(redis.call('GET', entry))
    if not (current and older(version, current)) then
      out[i] = 1
      if not (current == version and has_body) then
        redis.call('SET', entry, 'v' .. version .. ':' .. body, 'PX', ARGV[1])
      end
    end
  end
end
return out
"""
)

# KEYS: entry, lease, generation. ARGV: lease token, generation seen, ttl ms. On Redis Cluster the
# generation (another slot) is left out: an entry stored for a generation since replaced is never
# taken for absent by a lookup, so the check only saves a write.
FILL_ABSENT = (
    _CURRENT_VERSION
    + """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if KEYS[3] and redis.call('GET', KEYS[3]) ~= ARGV[2] then return 0 end
local current, has_body = current_version(redis.call('GET', KEYS[1]))
if has_body then return 0 end
redis.call('SET', KEYS[1], 'n' .. ARGV[2], 'PX', ARGV[3])
return 1
"""
)

# KEYS: lease. ARGV: lease token. Frees the lease if this reader still holds it.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: entry and lease of each write. ARGV: ttl ms, then version and body ('' for a tombstone) of
# each. Revokes each lease; returns per write 1 stored, 0 refused (an equal or newer version is there).
WRITE = (
    _CURRENT_VERSION
    + """
local out = {}
for i = 1, #KEYS / 2 do
  local entry, version, body = KEYS[2 * i - 1], ARGV[2 * i], ARGV[2 * i + 1]
  redis.call('DEL', KEYS[2 * i])
  local current, has_body = current_version(redis.call('GET', entry))
  if current and (older(version, current) or (current == version and (has_body or #body == 0))) then
    out[i] = 0
  else
    redis.call('SET', entry, 'v' .. version .. ':' .. body, 'PX', ARGV[1])
    out[i] = 1
  end
end
return out
"""
)

# KEYS: entries. ARGV: ttl ms. Tombstones each document one version on (the table was emptied).
BUMP = (
    _CURRENT_VERSION
    + """
for _, key in ipairs(KEYS) do
  local current = current_version(redis.call('GET', key))
  if current then redis.call('SET', key, 'v' .. plus_one(current) .. ':', 'PX', ARGV[1]) end
end
return #KEYS
"""
)

# KEYS: relay marker. ARGV: outbox position, ttl ms. 1 when the marker is at that position or
# beyond (its ttl is then refreshed), else 0: the cache has not seen every change up to there.
# Position 0 (nothing relayed yet) is seen by any cache.
RELAYED_THROUGH = (
    _CURRENT_VERSION
    + """
local marker = redis.call('GET', KEYS[1])
if not marker and ARGV[1] == '0' then marker = '0' end
if not older(marker or '', ARGV[1]) then
  redis.call('SET', KEYS[1], marker, 'PX', ARGV[2])
  return 1
end
return 0
"""
)

# KEYS: relay marker. ARGV: outbox position, ttl ms. Raises the marker to that position (never lowers it).
MARK_RELAYED = (
    _CURRENT_VERSION
    + """
local marker = redis.call('GET', KEYS[1])
if marker and older(ARGV[1], marker) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
)
