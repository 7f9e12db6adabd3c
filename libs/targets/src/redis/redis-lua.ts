/**
 * The whole apply of a batch as ONE Lua script, so Redis runs it atomically:
 * the per-row guard (invariant 4), the row writes, their versions and the
 * checkpoint (invariant 3) happen together or, if Redis dies first, not at all.
 *
 * KEYS: [versions hash, checkpoints hash, row key 1, row key 2, …]
 * ARGV: [reapply 0|1, routeId, watermark, nowMs, format 'json'|'hash',
 *        then per row key: op 'u'|'d', seq, payload (JSON object of text|null; '' for deletes)]
 *
 * Versions hash: field = row key, value = '<seq>' for a live row or
 * '<seq>:d' for a tombstone; kept for ever (no TTL), so a late older insert
 * can never resurrect a deleted row. Checkpoints hash: field = routeId,
 * value = '<watermark>:<ms>', moved only forward.
 *
 * An upsert merges into the stored row: a change carrying an older shape of
 * the table leaves the columns it does not know alone, as a SQL upsert does.
 *
 * Returns one flag per row key: 1 written, 0 skipped (stored seq as new).
 */
export const APPLY_SCRIPT = `
local versions = KEYS[1]
local checkpoints = KEYS[2]
local reapply = ARGV[1] == '1'
local format = ARGV[5]
local result = {}
for i = 3, #KEYS do
  local key = KEYS[i]
  local base = 6 + (i - 3) * 3
  local op = ARGV[base]
  local seq = tonumber(ARGV[base + 1])
  local payload = ARGV[base + 2]
  local stored = redis.call('HGET', versions, key)
  local wins = true
  if stored then
    local storedSeq = tonumber(string.match(stored, '^(%d+)'))
    if reapply then wins = storedSeq <= seq else wins = storedSeq < seq end
  end
  if wins then
    if op == 'd' then
      redis.call('DEL', key)
      redis.call('HSET', versions, key, ARGV[base + 1] .. ':d')
    else
      local incoming = cjson.decode(payload)
      if format == 'json' then
        local current = redis.call('GET', key)
        if current then
          local merged = cjson.decode(current)
          for name, value in pairs(incoming) do merged[name] = value end
          incoming = merged
        end
        redis.call('SET', key, cjson.encode(incoming))
      else
        local set = {}
        for name, value in pairs(incoming) do
          if value == cjson.null then redis.call('HDEL', key, name)
          else set[#set + 1] = name; set[#set + 1] = value end
        end
        if #set > 0 then redis.call('HSET', key, unpack(set)) end
      end
      redis.call('HSET', versions, key, ARGV[base + 1])
    end
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
local routeId = ARGV[2]
local watermark = tonumber(ARGV[3])
local saved = redis.call('HGET', checkpoints, routeId)
if (not saved) or tonumber(string.match(saved, '^(%d+)')) < watermark then
  redis.call('HSET', checkpoints, routeId, ARGV[3] .. ':' .. ARGV[4])
end
return result
`;
