"""The queue's Lua scripts: every step that touches more than one key runs atomically inside Redis.

Times are the queue's injected clock, passed in by the caller (never Redis' own clock), so lease expiry is
deterministic under test and consistent across hosts. Floats travel as strings: Redis truncates Lua numbers
to integers in replies. ARGV[1] is always the hash-tagged prefix (see keys.py for why one tag).

Fencing tokens are '<epoch>.<counter>'. The counter is an INCR, which goes back when Redis restarts
from older data (no AOF, the last second of `appendfsync everysec`, a failover to a lagging replica):
alone it would hand a held token out again. The epoch changes with every Redis process (its `run_id`,
which a restart and a failover both change) and is at least the queue clock in milliseconds when that
process was first seen, so tokens are unique and increase across restarts. A new epoch grants no lease
for `grace` seconds (one lease TTL): the holders of leases the restart may have lost stop within that
time on their own clock. A lease that survived is re-validated under the new epoch by its next renewal.
"""

from __future__ import annotations

_PRELUDE = """
local P = ARGV[1]
local function K(...) return P .. ':' .. table.concat({...}, ':') end
local function wake()
  redis.call('RPUSH', K('wake'), '1')
  redis.call('LTRIM', K('wake'), -8, -1)
  redis.call('PEXPIRE', K('wake'), 60000)
end
-- the current epoch and when it grants leases; opened by the first call in a new Redis process
local function epoch(now, grace)
  local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  local e = redis.call('HMGET', K('epoch'), 'run_id', 'epoch', 'open_at')
  if e[1] == run_id then return e[2], tonumber(e[3]) end
  local n = string.format('%.0f', math.max(tonumber(e[2] or '0') + 1, math.floor(now * 1000)))
  -- with no earlier epoch recorded this is a new (or flushed) Redis: no lease of ours can be outstanding
  local open_at = now
  if e[1] then open_at = now + grace end
  redis.call('HSET', K('epoch'), 'run_id', run_id, 'epoch', n, 'open_at', string.format('%.17g', open_at))
  -- the move count may have gone back with the data too: it restarts above every count of earlier epochs
  if tonumber(redis.call('GET', K('moves')) or '0') < tonumber(n) then redis.call('SET', K('moves'), n) end
  return n, open_at
end
local function lease_ok(sub, fence, now)
  local f = redis.call('HMGET', K('lease', sub), 'fence', 'expires')
  if f[1] ~= fence then return false end
  return tonumber(f[2]) > now
end
local function make_ready(sub, front)
  local rr = redis.call('INCR', K('rr'))
  if front then rr = -rr end
  redis.call('ZADD', K('ready'), rr, sub)
  wake()
end
local function release(sub)
  redis.call('DEL', K('lease', sub))
  redis.call('ZREM', K('leases'), sub)
end
local function follow_ttl(jid, suffix)
  local ttl = redis.call('PTTL', K('job', jid))
  if ttl > 0 then redis.call('PEXPIRE', K('job', jid, suffix), ttl) end
end
-- Two lanes in one list per subscription: on-demand jobs first, then watch runs (job field lane = 'watch').
-- An on-demand job queued at the back goes in before the first watch run, so it never waits for one; a job
-- put back at the front (a reaped lease, a hand-back) resumes first, whatever its lane. One list keeps
-- positions (LPOS), CLAIM and the per-subscription cap as they were.
local function is_watch(jid) return redis.call('HGET', K('job', jid), 'lane') == 'watch' end
local function first_watch(sub)
  for _, other in ipairs(redis.call('LRANGE', K('q', sub), 0, -1)) do
    if is_watch(other) then return other end
  end
  return nil
end
-- every job waiting in a subscription queue is also in the one 'pending' list (LLEN = work for autoscalers)
-- 'moves' counts every change that shifts a queued job's position (one leaving the head, one put back in
-- front or ahead of the watch runs): a position read with a smaller count is older, and is never shown over
-- a newer one (a new epoch raises it to the epoch's number, as fencing tokens are: it only grows)
local function enqueue(sub, jid, front)
  local pivot = nil
  if not front and not is_watch(jid) then pivot = first_watch(sub) end
  if front then redis.call('LPUSH', K('q', sub), jid)
  elseif pivot then redis.call('LINSERT', K('q', sub), 'BEFORE', pivot, jid)
  else redis.call('RPUSH', K('q', sub), jid) end
  redis.call('RPUSH', K('pending'), jid)
  if front or pivot then redis.call('INCR', K('moves')) end
end
local function dequeue(sub)
  local jid = redis.call('LPOP', K('q', sub))
  if jid then
    redis.call('LREM', K('pending'), 1, jid)
    redis.call('INCR', K('moves'))
  end
  return jid
end
-- an expired lease: its job (if it had one: a terminal check holds a lease without a job) goes back to the
-- head of its queue to be resumed; a job whose data is gone is reported in `skipped`
local function reap(sub, skipped)
  local jid = redis.call('HGET', K('lease', sub), 'job')
  release(sub)
  if jid and jid ~= '' and redis.call('EXISTS', K('job', jid)) == 1 then
    enqueue(sub, jid, true)
    redis.call('HSET', K('job', jid), 'owner', '')
  elseif jid and jid ~= '' then
    skipped[#skipped + 1] = sub .. '|' .. jid
  end
  if redis.call('LLEN', K('q', sub)) > 0 then make_ready(sub, true) end
end
local function mark_delivered(jid, thread)
  redis.call('SADD', K('job', jid, 'delivered'), thread)
  follow_ttl(jid, 'delivered')
  redis.call('ZREM', K('deliveries'), jid .. '|' .. thread)
end
local function waiting(jid)
  local reqs = redis.call('LRANGE', K('job', jid, 'req'), 0, -1)
  return {reqs, redis.call('SMEMBERS', K('job', jid, 'delivered'))}
end
"""

# ARGV: P, target_key, subscription, new_job_id, target_json, query, requester_json, thread_key, now,
#       fresh_window, retention_seconds, user_id, max queued per subscription, max jobs a user waits for,
#       max requesters of one job (0: no limit), lane ('watch' for a watch run, else ''), and for a watch
#       run: watch id, the due time (ms) it was read at, its next due time (ms). Returns {'skipped'} when
#       that run was taken already (another scheduler, or this one before a crash): the schedule moves on
#       in the same step as the job is queued, so a run is neither lost nor doubled. Returns
#       {outcome, job_id, state}, or {'limited', which, limit} when a cap refuses the request (checked
#       here, so concurrent submits cannot pass it together).
#       A new job's keys expire after the retention from the start (FINISH sets it again from the end): a
#       job that never finishes (its queue lost by Redis) is not kept for ever; CLAIM skips a queued job
#       whose data is gone.
SUBMIT = (
    _PRELUDE
    + """
local tkey, sub, jid = ARGV[2], ARGV[3], ARGV[4]
local req_json, thread = ARGV[7], ARGV[8]
local now, fresh = tonumber(ARGV[9]), tonumber(ARGV[10])
local retention_ms = math.floor(tonumber(ARGV[11]) * 1000)
local user = ARGV[12]
local max_sub, max_user, max_req = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local lane = ARGV[16] or ''
if ARGV[17] then
  local due = redis.call('ZSCORE', K('watches'), ARGV[17])
  if not due or tonumber(due) ~= tonumber(ARGV[18]) then return {'skipped', '', ''} end
  redis.call('ZADD', K('watches'), ARGV[19], ARGV[17])
  redis.call('HINCRBY', K('watch', ARGV[17]), 'runs', 1)
end
local function attach(id)
  if redis.call('SADD', K('job', id, 'threads'), thread) == 1 then
    redis.call('RPUSH', K('job', id, 'req'), req_json)
    follow_ttl(id, 'threads')
    follow_ttl(id, 'req')
    return true
  end
  return false
end
local function waiting(state) return state == 'queued' or state == 'running' or state == 'reporting' end
-- The jobs `user` waits for: a set pruned of ended jobs as it is read, kept no longer than the retention.
local function user_waits()
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', K('user', user))) do
    if waiting(redis.call('HGET', K('job', id), 'state')) then n = n + 1
    else redis.call('SREM', K('user', user), id) end
  end
  return n
end
local function note_user(id)
  if user == '' then return end
  redis.call('SADD', K('user', user), id)
  if retention_ms > 0 then redis.call('PEXPIRE', K('user', user), retention_ms) end
end
local function user_full(id)
  if user == '' or max_user <= 0 then return false end
  return redis.call('SISMEMBER', K('user', user), id) == 0 and user_waits() >= max_user
end
local active = redis.call('HGET', K('active'), tkey)
if active then
  local state = redis.call('HGET', K('job', active), 'state')
  if waiting(state) then
    if redis.call('SISMEMBER', K('job', active, 'threads'), thread) == 0 then
      if max_req > 0 and redis.call('LLEN', K('job', active, 'req')) >= max_req then
        return {'limited', 'requesters', max_req}
      end
      if user_full(active) then return {'limited', 'user', max_user} end
    end
    attach(active)
    note_user(active)
    -- someone asks now for what a watch run queued: the run moves up to the on-demand lane
    if lane ~= 'watch' and state == 'queued' and is_watch(active) then
      redis.call('HSET', K('job', active), 'lane', '')
      local sub_of = redis.call('HGET', K('job', active), 'sub')
      if redis.call('LREM', K('q', sub_of), 1, active) == 1 then
        redis.call('LREM', K('pending'), 1, active)
        enqueue(sub_of, active, false)
      end
    end
    return {'merged', active, state}
  end
end
local last = redis.call('HGET', K('last'), tkey)
if last and fresh > 0 then
  local f = redis.call('HMGET', K('job', last), 'state', 'finished_at', 'reusable')
  if f[1] == 'done' and f[3] == '1' and now - tonumber(f[2]) <= fresh then
    if attach(last) then
      redis.call('SADD', K('job', last, 'reused'), thread)
      redis.call('ZADD', K('deliveries'), now, last .. '|' .. thread)
      follow_ttl(last, 'reused')
      wake()
    end
    return {'fresh', last, 'done'}
  end
end
if max_sub > 0 and redis.call('LLEN', K('q', sub)) >= max_sub then
  return {'limited', 'subscription', max_sub}
end
if user_full(jid) then return {'limited', 'user', max_user} end
local jk = K('job', jid)
redis.call('HSET', jk, 'id', jid, 'target', ARGV[5], 'target_key', tkey, 'sub', sub, 'query', ARGV[6],
  'state', 'queued', 'created_at', ARGV[9], 'attempts', 0, 'operation', '{}', 'fence', '', 'owner', '',
  'lane', lane)
if retention_ms > 0 then redis.call('PEXPIRE', jk, retention_ms) end
attach(jid)
note_user(jid)
redis.call('HSET', K('active'), tkey, jid)
enqueue(sub, jid, false)
redis.call('SADD', K('subs'), sub)
redis.call('ZADD', K('history', tkey), now, jid)
if retention_ms > 0 then redis.call('PEXPIRE', K('history', tkey), retention_ms) end
if redis.call('EXISTS', K('lease', sub)) == 0 and not redis.call('ZSCORE', K('ready'), sub) then
  make_ready(sub, false)
end
return {'queued', jid, 'queued'}
"""
)

# ARGV: P, owner, now, expires, max_jobs, max_deliveries, visible_until, grace, retention_seconds.
# Reaps expired leases (their job goes back to the head of its queue, to be resumed), then leases up to
# max_jobs of the longest-waiting ready subscriptions, popping the oldest job of each (passing over jobs
# whose data is gone), and takes up to max_deliveries due deliveries (as CLAIM_DELIVERIES). One round trip
# fills a worker: returns {claims, deliveries, skipped 'sub|job'}, each claim being {job_id, fence,
# first_start, subscription, JSON [job hash as a flat list, requesters, delivered, reused]}: one JSON
# string parses far faster client-side than dozens of nested RESP items (cjson writes an empty list as {}).
CLAIM = (
    _PRELUDE
    + """
local owner, now, expires = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local max_jobs, max_deliveries = tonumber(ARGV[5]), tonumber(ARGV[6])
local ep, open_at = epoch(now, tonumber(ARGV[8]))
if now < open_at then max_jobs = 0 end
local skipped = {}
local expired = redis.call('ZRANGEBYSCORE', K('leases'), '-inf', now, 'LIMIT', 0, 100)
for _, sub in ipairs(expired) do reap(sub, skipped) end
local claims = {}
while #claims < max_jobs do
  local popped = redis.call('ZPOPMIN', K('ready'))
  if #popped == 0 then break end
  local sub = popped[1]
  local jid = dequeue(sub)
  -- a job whose data is gone (expired, or lost by Redis) is passed over: it must not hold up its queue
  while jid and redis.call('EXISTS', K('job', jid)) == 0 do
    skipped[#skipped + 1] = sub .. '|' .. jid
    jid = dequeue(sub)
  end
  if not jid then
    if redis.call('EXISTS', K('lease', sub)) == 0 then redis.call('SREM', K('subs'), sub) end
  else
    local jk = K('job', jid)
    local fence = ep .. '.' .. tostring(redis.call('INCR', K('fence')))
    local first = '0'
    if redis.call('HGET', jk, 'state') == 'queued' then
      first = '1'
      redis.call('HSET', jk, 'state', 'running', 'started_at', ARGV[3])
    end
    redis.call('HSET', jk, 'fence', fence, 'owner', owner)
    -- the retention a job got when it was queued runs again from its start: a long wait must not
    -- expire it in the middle of its run (FINISH sets it once more from its end)
    local retention_ms = math.floor(tonumber(ARGV[9]) * 1000)
    if retention_ms > 0 then
      redis.call('PEXPIRE', jk, retention_ms)
      for _, s in ipairs({'req', 'threads', 'delivered', 'reused'}) do
        redis.call('PEXPIRE', K('job', jid, s), retention_ms)
      end
    end
    redis.call('HSET', K('lease', sub), 'job', jid, 'fence', fence, 'owner', owner, 'expires', expires,
      'since', redis.call('HGET', jk, 'started_at'), 'epoch', ep)
    redis.call('ZADD', K('leases'), expires, sub)
    redis.call('HINCRBY', jk, 'attempts', 1)
    local w = waiting(jid)
    claims[#claims + 1] = {jid, fence, first, sub, cjson.encode({redis.call('HGETALL', jk), w[1], w[2],
      redis.call('SMEMBERS', K('job', jid, 'reused'))})}
  end
end
local due = {}
if max_deliveries > 0 then
  due = redis.call('ZRANGEBYSCORE', K('deliveries'), '-inf', ARGV[3], 'LIMIT', 0, max_deliveries)
  for _, member in ipairs(due) do redis.call('ZADD', K('deliveries'), 'XX', ARGV[7], member) end
end
return {claims, due, skipped}
"""
)

# ARGV: P, subscription, fence, now, expires, grace, ... Returns 1 when the lease is still ours (and now
# extended), 2 when it is too but was granted in an earlier epoch: Redis restarted or failed over and kept
# it, and the owner is now re-validated under the new epoch. 0 when lost.
RENEW = (
    _PRELUDE
    + """
local sub, fence, now, expires = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local ep = epoch(now, tonumber(ARGV[6]))
if not lease_ok(sub, fence, now) then return 0 end
local renewed = 1
if redis.call('HGET', K('lease', sub), 'epoch') ~= ep then renewed = 2 end
redis.call('HSET', K('lease', sub), 'expires', expires, 'epoch', ep)
redis.call('ZADD', K('leases'), expires, sub)
return renewed
"""
)

# ARGV: P, subscription, fence, now, expires, grace, job_id, operation_json. Fenced checkpoint (renews the
# lease).
SAVE_OPERATION = RENEW.replace(
    "return renewed\n",
    "if redis.call('EXISTS', K('job', ARGV[7])) == 0 then return 0 end\n"
    "redis.call('HSET', K('job', ARGV[7]), 'operation', ARGV[8])\nreturn renewed\n",
)

# ARGV: P, subscription, fence, now, expires, grace, job_id, report_json, reusable ('1'/'0'), outcome.
# Returns {1, JSON [requesters, delivered]}: who waits for the card now (requesters join while a job runs).
STORE_REPORT = RENEW.replace(
    "return renewed\n",
    "if redis.call('EXISTS', K('job', ARGV[7])) == 0 then return 0 end\n"
    "redis.call('HSET', K('job', ARGV[7]), 'report', ARGV[8], 'reusable', ARGV[9], 'outcome', ARGV[10],\n"
    "  'state', 'reporting')\nreturn {renewed, cjson.encode(waiting(ARGV[7]))}\n",
)

# ARGV: P, subscription, fence, now, job_id, retention_seconds, handoff ('1'/'0'), grace, then thread keys
# whose card was just posted (recorded first, as MARK_DELIVERED would: a fact, whatever the lease).
# Finishes the job only when every requester's thread has its card (or, with handoff, is owed one in the
# delivery queue); then releases the lease and puts the subscription at the back of the round-robin.
# Returns {'done'}, {'lost'}, or {'pending', threads, JSON [requesters, delivered]} (deliver, call again).
FINISH = (
    _PRELUDE
    + """
local sub, fence, now, jid = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local retention, handoff = tonumber(ARGV[6]), ARGV[7]
epoch(now, tonumber(ARGV[8]))
for i = 9, #ARGV do mark_delivered(jid, ARGV[i]) end
if not lease_ok(sub, fence, now) then return {'lost'} end
local jk = K('job', jid)
local pending = redis.call('SDIFF', K('job', jid, 'threads'), K('job', jid, 'delivered'))
if #pending > 0 then
  if handoff ~= '1' then
    return {'pending', pending, cjson.encode(waiting(jid))}
  end
  for _, thread in ipairs(pending) do
    redis.call('ZADD', K('deliveries'), 'NX', now, jid .. '|' .. thread)
  end
end
local f = redis.call('HMGET', jk, 'outcome', 'started_at', 'target_key')
local ms = math.floor(retention * 1000)
if f[3] then  -- else the job's data is gone (lost by Redis): only the lease is left to release
  redis.call('HSET', jk, 'state', f[1] or 'done', 'finished_at', ARGV[4], 'owner', '')
  if f[2] then
    redis.call('LPUSH', K('durations', sub), tostring(now - tonumber(f[2])))
    redis.call('LTRIM', K('durations', sub), 0, 19)
    if ms > 0 then redis.call('PEXPIRE', K('durations', sub), ms) end
  end
  if redis.call('HGET', K('active'), f[3]) == jid then redis.call('HDEL', K('active'), f[3]) end
  redis.call('HSET', K('last'), f[3], jid)
  if ms > 0 then
    redis.call('ZREMRANGEBYSCORE', K('history', f[3]), '-inf', '(' .. tostring(now - retention))
    redis.call('PEXPIRE', K('history', f[3]), ms)
    redis.call('PEXPIRE', jk, ms)
    for _, s in ipairs({'req', 'threads', 'delivered', 'reused'}) do
      redis.call('PEXPIRE', K('job', jid, s), ms)
    end
  end
end
release(sub)
if redis.call('LLEN', K('q', sub)) > 0 then make_ready(sub, false) else redis.call('SREM', K('subs'), sub) end
return {'done'}
"""
)

# ARGV: P, subscription, owner, now, expires, grace. A terminal check (`vpncheck check`) takes a
# subscription's slot as a worker would, without a job: granted when no lease is held (an expired one is
# reaped) and no on-demand job of the bot waits there (those asked first; watch runs wait behind it).
# Returns {'taken', fence, since}, or
# {'held', owner, job_id, since} / {'queued', job_id, count} / {'epoch', '', open_at} saying what to wait for.
TAKE_SLOT = (
    _PRELUDE
    + """
local sub, owner, now, expires = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local ep, open_at = epoch(now, tonumber(ARGV[6]))
local l = redis.call('HMGET', K('lease', sub), 'owner', 'job', 'since', 'expires')
if l[1] then
  if tonumber(l[4]) > now then return {'held', l[1], l[2] or '', l[3] or ''} end
  reap(sub, {})
end
if now < open_at then return {'epoch', '', string.format('%.17g', open_at)} end
-- watch runs wait behind a terminal check as behind any on-demand one (they are at the back of the list)
local head = redis.call('LINDEX', K('q', sub), 0)
if head and not is_watch(head) then
  if not redis.call('ZSCORE', K('ready'), sub) then make_ready(sub, false) end
  return {'queued', head, tostring(redis.call('LLEN', K('q', sub)))}
end
local fence = ep .. '.' .. tostring(redis.call('INCR', K('fence')))
-- watch runs may be waiting: no worker claims them while the terminal check holds the slot
redis.call('ZREM', K('ready'), sub)
redis.call('HSET', K('lease', sub), 'job', '', 'fence', fence, 'owner', owner, 'expires', expires,
  'since', ARGV[4], 'epoch', ep)
redis.call('ZADD', K('leases'), expires, sub)
return {'taken', fence, ARGV[4]}
"""
)

# ARGV: P, subscription, fence. The terminal check is done: its slot is freed (only by its fence), and the
# subscription's queue, if anything waits in it, is handed to the workers.
RELEASE_SLOT = (
    _PRELUDE
    + """
local sub, fence = ARGV[2], ARGV[3]
if redis.call('HGET', K('lease', sub), 'fence') ~= fence then return 0 end
release(sub)
if redis.call('LLEN', K('q', sub)) > 0 then make_ready(sub, false) end
return 1
"""
)

# ARGV: P, subscription, fence, job_id. Graceful shutdown: the job goes back to the head of its queue and
# the subscription to the front of the round-robin, so another worker resumes it at once.
HAND_BACK = (
    _PRELUDE
    + """
local sub, fence, jid = ARGV[2], ARGV[3], ARGV[4]
if redis.call('HGET', K('lease', sub), 'fence') ~= fence then return 0 end
release(sub)
enqueue(sub, jid, true)
redis.call('HSET', K('job', jid), 'owner', '')
redis.call('HINCRBY', K('job', jid), 'attempts', -1)
make_ready(sub, true)
return 1
"""
)

# ARGV: P, job_id, thread_key. Records a posted card; a fact, so not fenced (the post was checked before).
MARK_DELIVERED = (
    _PRELUDE
    + """
mark_delivered(ARGV[2], ARGV[3])
return 1
"""
)

# ARGV: P, now, visible_until, limit. Takes due deliveries and hides them until visible_until, so a worker
# that dies while posting leaves them to be retried by another. Returns the 'job|thread' members.
CLAIM_DELIVERIES = (
    _PRELUDE
    + """
local due = redis.call('ZRANGEBYSCORE', K('deliveries'), '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
for _, member in ipairs(due) do redis.call('ZADD', K('deliveries'), 'XX', ARGV[3], member) end
return due
"""
)


# ARGV: P. Maintenance, run now and then by workers: mends what a Redis that lost part of its data (or
# retention expiring a queued job) leaves behind, so no queue stays stuck and no index outlives its jobs.
# A subscription with queued work but neither a lease nor a place in the round-robin is made ready again;
# index entries (active, last, pending, deliveries) of jobs whose data is gone are removed, and empty
# subscriptions forgotten. Returns {subscriptions revived, entries removed, 'sub|job' of lost queued jobs}.
REPAIR = (
    _PRELUDE
    + """
local revived, removed, lost = 0, 0, {}
local function gone(jid) return redis.call('EXISTS', K('job', jid)) == 0 end
for _, sub in ipairs(redis.call('SMEMBERS', K('subs'))) do
  for _, jid in ipairs(redis.call('LRANGE', K('q', sub), 0, -1)) do
    if gone(jid) then
      redis.call('LREM', K('q', sub), 0, jid)
      redis.call('LREM', K('pending'), 0, jid)
      redis.call('INCR', K('moves'))
      lost[#lost + 1] = sub .. '|' .. jid
    end
  end
  if redis.call('EXISTS', K('lease', sub)) == 0 then
    if redis.call('LLEN', K('q', sub)) == 0 then
      redis.call('ZREM', K('ready'), sub)
      redis.call('SREM', K('subs'), sub)
    elseif not redis.call('ZSCORE', K('ready'), sub) then
      make_ready(sub, true)
      revived = revived + 1
    end
  end
end
for _, name in ipairs({'active', 'last'}) do
  local h = redis.call('HGETALL', K(name))
  for i = 1, #h, 2 do
    if gone(h[i + 1]) then
      redis.call('HDEL', K(name), h[i])
      removed = removed + 1
    end
  end
end
for _, jid in ipairs(redis.call('LRANGE', K('pending'), 0, -1)) do
  if gone(jid) then removed = removed + redis.call('LREM', K('pending'), 0, jid) end
end
for _, member in ipairs(redis.call('ZRANGE', K('deliveries'), 0, -1)) do
  if gone(string.match(member, '^([^|]*)')) then
    removed = removed + redis.call('ZREM', K('deliveries'), member)
  end
end
for _, sub in ipairs(redis.call('ZRANGE', K('leases'), 0, -1)) do
  if redis.call('EXISTS', K('lease', sub)) == 0 then
    removed = removed + redis.call('ZREM', K('leases'), sub)
  end
end
return {revived, removed, lost}
"""
)


# Record a parent message's edit unless a later state was recorded already; answer the edit's sequence number
# (0: refused). The edit's body is kept so that a writer whose chat.update may have landed after a later edit
# can put the latest body back (bot/slack/parent_message.py). KEYS[1] = Keys.parent(...); ARGV = rank, ttl
# seconds, body, version: within one rank, an edit read from an older queue (a smaller `moves` count: its
# position is out of date) is refused too.
ADVANCE_PARENT = """
local p = redis.call('HMGET', KEYS[1], 'rank', 'ver')
local cur, ver = tonumber(p[1] or '-1'), tonumber(p[2] or '0')
local new, new_ver = tonumber(ARGV[1]), tonumber(ARGV[4] or '0')
if new < cur or (new == cur and new_ver < ver) then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'rank', ARGV[1], 'body', ARGV[3], 'ver', tostring(new_ver))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return seq
"""


# One Slack rate bucket shared by all processes, timed by the Redis server's clock so processes agree.
# KEYS[1] = Keys.rate(...); ARGV = size, tokens per second, reserve (tokens the caller must leave for more
# important calls), block seconds (a 429's Retry-After; 0 to take a token). Answers the seconds to wait
# ("0": a token was taken).
TAKE_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local size, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local reserve, block = tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'blocked')
local tokens = tonumber(b[1]) or size
local at = tonumber(b[2]) or now
local blocked = tonumber(b[3]) or 0
tokens = math.min(size, tokens + math.max(0, now - at) * rate)
local wait = 0
if block > 0 then
  blocked = math.max(blocked, now + block)
  tokens = 0
elseif blocked > now then
  wait = blocked - now
elseif tokens - reserve >= 1 then
  tokens = tokens - 1
else
  wait = (1 + reserve - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now), 'blocked', tostring(blocked))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""


# Drop a delivery's claim only while it is still pending: a claim already marked done stays.
RELEASE_PENDING = """
if redis.call('GET', KEYS[1]) == 'pending' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _derive(base: str, *edits: tuple[str, str]) -> str:
    """A script made from another by exact textual edits; fails at import if `base` no longer has them."""
    for old, new in edits:
        if base.count(old) != 1:
            raise AssertionError(f"script edit does not apply: {old!r}")
        base = base.replace(old, new)
    return base


# ARGV: P, subscription, fence, now, job_id, retention_seconds, '1', grace, report_json, reusable ('1'/'0'),
# outcome, due. STORE_REPORT and FINISH with handoff in one fenced step, run as soon as Azure is done: the
# report is kept, every thread still waiting is owed its card in the delivery queue from `due` on (the
# worker reads the logs and posts before then; if it dies, another worker does it after `due`), the job
# finishes and the subscription is released for its next troubleshoot. Returns {'done', threads} or {'lost'}.
COMPLETE = _derive(
    FINISH,
    ("for i = 9, #ARGV do mark_delivered(jid, ARGV[i]) end\n", ""),
    (
        "local jk = K('job', jid)\n",
        "local jk = K('job', jid)\n"
        "if redis.call('EXISTS', jk) == 1 then\n"
        "  redis.call('HSET', jk, 'report', ARGV[9], 'reusable', ARGV[10], 'outcome', ARGV[11], 'state',"
        " 'reporting')\n"
        "end\n",
    ),
    (
        "redis.call('ZADD', K('deliveries'), 'NX', now, jid",
        "redis.call('ZADD', K('deliveries'), 'NX', ARGV[12], jid",
    ),
    ("return {'done'}\n", "return {'done', pending}\n"),
)

# ARGV: P, job_id, report_json. The report completed after the job finished (its logs read): kept only while
# the job's data exists (retention), never recreating a job. Not fenced: every writer computes the same.
UPDATE_REPORT = (
    _PRELUDE
    + """
if redis.call('EXISTS', K('job', ARGV[2])) == 0 then return 0 end
redis.call('HSET', K('job', ARGV[2]), 'report', ARGV[3])
return 1
"""
)


# ARGV: P, watch_id, channel, user, max per channel, max per user, due (ms), then field/value pairs of the
# watch hash. Sets (or replaces: same channel and target) a watch, its first run due at `due`; the caps are
# checked here, so two concurrent `watch` commands cannot pass them together. Returns {'added'|'updated'} or
# {'limited', 'channel'|'user', cap}.
WATCH_ADD = (
    _PRELUDE
    + """
local wid, ch, user = ARGV[2], ARGV[3], ARGV[4]
local max_ch, max_user = tonumber(ARGV[5]), tonumber(ARGV[6])
local exists = redis.call('EXISTS', K('watch', wid)) == 1
if not exists then
  if redis.call('SCARD', K('watch-ch', ch)) >= max_ch then return {'limited', 'channel', max_ch} end
  if redis.call('SCARD', K('watch-user', user)) >= max_user then return {'limited', 'user', max_user} end
else
  redis.call('SREM', K('watch-user', redis.call('HGET', K('watch', wid), 'user_id')), wid)
end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', K('watch', wid), unpack(fields))
redis.call('HDEL', K('watch', wid), 'paused')
redis.call('ZADD', K('watches'), ARGV[7], wid)
redis.call('SADD', K('watch-ch', ch), wid)
redis.call('SADD', K('watch-user', user), wid)
if exists then return {'updated'} end
return {'added'}
"""
)

# ARGV: P, watch_id. Removes a watch and its index entries. Returns 1 when there was one.
WATCH_REMOVE = (
    _PRELUDE
    + """
local w = redis.call('HMGET', K('watch', ARGV[2]), 'channel_id', 'user_id')
redis.call('ZREM', K('watches'), ARGV[2])
if not w[1] then return 0 end
redis.call('SREM', K('watch-ch', w[1]), ARGV[2])
redis.call('SREM', K('watch-user', w[2]), ARGV[2])
return redis.call('DEL', K('watch', ARGV[2]))
"""
)

# ARGV: P, watch_id, due (ms) it was read at, reason. Pauses a watch whose run was due (its setter lost
# access): it leaves the schedule in the same step, so of racing schedulers exactly one pauses it and says
# so. Returns 1 for that one, 0 otherwise.
WATCH_PAUSE = (
    _PRELUDE
    + """
local due = redis.call('ZSCORE', K('watches'), ARGV[2])
if not due or tonumber(due) ~= tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', K('watches'), ARGV[2])
redis.call('HSET', K('watch', ARGV[2]), 'paused', ARGV[4])
return 1
"""
)

# ARGV: P, watch_id, job_id, signature (verdict and faults). Records the verdict a watch saw in a job, once
# per job. Returns {'new', previous signature ('' for the first)} or {'seen'} (this job was recorded before:
# a repeated delivery), so the change message is decided once.
WATCH_OBSERVE = (
    _PRELUDE
    + """
local wk = K('watch', ARGV[2])
if redis.call('EXISTS', wk) == 0 then return {'gone', ''} end
local w = redis.call('HMGET', wk, 'last_job', 'last_signature')
if w[1] == ARGV[3] then return {'seen', ''} end
redis.call('HSET', wk, 'last_job', ARGV[3], 'last_signature', ARGV[4])
return {'new', w[2] or ''}
"""
)

# ARGV: P, watch_id, job_id, previous signature. Undoes WATCH_OBSERVE of this job (its change message could
# not be posted, to be retried): the retry then decides again instead of finding the job seen.
WATCH_UNOBSERVE = (
    _PRELUDE
    + """
local wk = K('watch', ARGV[2])
if redis.call('HGET', wk, 'last_job') ~= ARGV[3] then return 0 end
redis.call('HSET', wk, 'last_job', '', 'last_signature', ARGV[4])
return 1
"""
)
