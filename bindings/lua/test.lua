-- Tests of the Lua binding, plain Lua only:
--   lua5.4 bindings/lua/test.lua <directory holding cloudnotify.so>
-- Ends with "N passed, N failed" and exits non-zero on any failure.

local dir = arg[1] or "build/bindings/lua"
package.cpath = dir .. "/?.so;" .. package.cpath
local cn = require "cloudnotify"

local ACCOUNT = "juliet@capulet.example"
local PUSH = "push.montague.example"
local NODE = "yxs32uqsflafdk3iuqo"
local SECRET = "eruio234vzxc2kla-91"

local ENABLE_WITH_FORM = "<iq type='set' id='enable1'>"
	.. "<enable xmlns='urn:xmpp:push:0' jid='" .. PUSH .. "' node='" .. NODE .. "'>"
	.. "<x xmlns='jabber:x:data' type='submit'>"
	.. "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
	.. "<field var='secret'><value>" .. SECRET .. "</value></field>"
	.. "</x></enable></iq>"

local function enable_iq(id, node)
	return "<iq type='set' id='" .. id .. "'><enable xmlns='urn:xmpp:push:0' jid='" .. PUSH
		.. "' node='" .. node .. "'/></iq>"
end

local function message(id, body)
	return "<message type='chat' from='romeo@montague.example/orchard' to='" .. ACCOUNT
		.. "' id='" .. id .. "'><body>" .. (body or "Wherefore art thou?") .. "</body></message>"
end

-- A host that records everything the library hands it.
local function recorder(extra)
	local h = { sent = {}, removed = {}, logs = {}, timers = {}, hibernation = {}, clock = 1700000000000 }
	local callbacks = {
		send = function(route, session, account, to, xml)
			h.sent[#h.sent + 1] = { route = route, session = session, account = account, to = to, xml = xml,
				thread = coroutine.running() }
			return true
		end,
		now = function() return h.clock end,
		monotonic = function() return h.clock end,
		timer = function(ms) h.timers[#h.timers + 1] = ms end,
		hibernation_timeout = function(session, seconds)
			h.hibernation[#h.hibernation + 1] = { session = session, seconds = seconds }
		end,
		removed = function(account, jid, node, reason, error_type, error_condition)
			h.removed[#h.removed + 1] = { account = account, jid = jid, node = node, reason = reason,
				error_type = error_type, error_condition = error_condition }
		end,
		log = function(level, msg, id) h.logs[#h.logs + 1] = { level = level, msg = msg, id = id } end,
	}
	for k, v in pairs(extra or {}) do callbacks[k] = v end
	h.ctx = assert(cn.new(callbacks))
	-- Several pushes to one registration in a row, as 0.2 allowed: the
	-- rate limits (on by default since 0.3) are tested in C.
	assert(h.ctx:set_option("push_visible_interval", 0))
	assert(h.ctx:set_option("push_silent_per_hour", 0))
	function h.by_route(route)
		local out = {}
		for _, m in ipairs(h.sent) do if m.route == route then out[#out + 1] = m end end
		return out
	end
	function h.last_id()
		local app = h.by_route("app")
		return app[#app].xml:match(" id='([^']+)'")
	end
	function h.logged(pattern)
		for _, l in ipairs(h.logs) do if l.msg:find(pattern) then return l end end
	end
	return h
end

local passed, failed = 0, 0
local function test(name, fn)
	local ok, err = xpcall(fn, debug.traceback)
	if ok then
		passed = passed + 1
		print("ok   " .. name)
	else
		failed = failed + 1
		print("FAIL " .. name .. ": " .. tostring(err))
	end
end

local function raises(fn, pattern)
	local ok, err = pcall(fn)
	assert(not ok, "expected an error")
	if pattern then assert(tostring(err):find(pattern), "unexpected error: " .. tostring(err)) end
end

---------------------------------------------------------------------------

test("module constants", function()
	assert(type(cn.version) == "string" and cn.version:match("^%d+%.%d+%.%d+"))
	assert(cn.NS_PUSH == "urn:xmpp:push:0")
	assert(cn.ERR_INVALID_ARGUMENT == -501 and cn.ERR_NOT_MINE == -504 and cn.ERR_STATE == -512)
	for _, k in ipairs{ "ERR_XML", "ERR_TOO_LARGE", "ERR_JID_MALFORMED", "ERR_STORE", "ERR_VTABLE_SIZE",
		"ERR_SEND", "ERR_UNKNOWN_OPTION", "ERR_OPTION_VALUE", "ERR_REENTRANT" } do
		assert(math.type(cn[k]) == "integer", k)
	end
	assert(type(cn.strerror(cn.ERR_NOT_MINE)) == "string")
	-- every code of the C header, the stores' and PostgreSQL's included
	local codes = { ERR_STORE_LOCKED = -519, ERR_STORE_CORRUPT = -520, ERR_STORE_VERSION = -521,
		ERR_STORE_IO = -522, ERR_PG_CONNINFO = -524, ERR_PG_UNAVAILABLE = -525, ERR_PG_QUERY = -526,
		ERR_PG_SCHEMA = -527 }
	for k, v in pairs(codes) do
		assert(cn[k] == v, k)
		assert(cn.strerror(v) ~= cn.strerror(-999), k .. " has its own text")
	end
	assert(cn.is_usage_error(cn.ERR_REENTRANT) and not cn.is_usage_error(cn.ERR_XML))
end)

test("enable with publish-options, offline push carries the secret", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s.account == ACCOUNT and s.resource == "phone")
	assert(s:handle_iq(ENABLE_WITH_FORM) == true)
	local client = h.by_route("client")
	assert(#client == 1)
	assert(client[1].session == s, "the same session object comes back")
	assert(client[1].xml:find("type='result'") and client[1].xml:find("id='enable1'"))
	assert(client[1].to == ACCOUNT .. "/phone")
	assert(h.ctx:has_push(ACCOUNT) == true)
	assert(h.ctx:has_push("romeo@montague.example") == false)
	assert(s:free() == true)
	assert(s:free() == true, "free is idempotent")
	assert(s.account == ACCOUNT, "identity survives free")
	raises(function() s:sm_enabled() end, "freed")

	assert(h.ctx:offline(ACCOUNT, message("m1")) == 1)
	local app = h.by_route("app")
	assert(#app == 1)
	assert(app[1].to == PUSH and app[1].account == ACCOUNT and app[1].session == nil)
	assert(app[1].xml:find(SECRET, 1, true), "publish-options secret in the publish")
	assert(app[1].xml:find("<publish node='" .. NODE .. "'>", 1, true))
	assert(h.ctx:free() == true)
	assert(h.ctx:free() == true, "ctx free is idempotent")
	raises(function() h.ctx:tick() end, "freed")
end)

test("app-server errors remove the registration", function()
	local h = recorder()
	assert(h.ctx:set_option("push_max_errors", 3))
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	s:free()
	for i = 1, 3 do
		assert(h.ctx:offline(ACCOUNT, message("m" .. i)) == 1)
		local reply = "<iq type='error' id='" .. h.last_id() .. "' from='" .. PUSH .. "'><error type='cancel'>"
			.. "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
		assert(h.ctx:app_reply(reply) == true)
		assert(#h.removed == (i == 3 and 1 or 0))
	end
	assert(h.removed[1].reason == "errors")
	assert(h.removed[1].account == ACCOUNT and h.removed[1].jid == PUSH and h.removed[1].node == NODE)
	assert(h.ctx:offline(ACCOUNT, message("m9")) == 0)
	assert(h.ctx:has_push(ACCOUNT) == false)
	local ok, err, code = h.ctx:app_reply("<iq type='result' id='nope' from='" .. PUSH .. "'/>")
	assert(ok == nil and type(err) == "string" and code == cn.ERR_NOT_MINE)
	h.ctx:free()
end)

test("observability: counters, outcomes, added, removal cause, reply routing", function()
	local outcomes, added = {}, {}
	local h = recorder{
		publish_outcome = function(r) outcomes[#outcomes + 1] = r end,
		registration_added = function(session, account, jid, node, change)
			added[#added + 1] = { session = session, account = account, jid = jid, node = node, change = change }
		end,
	}
	assert(cn.ERR_FOREIGN_SENDER == -513)
	assert(cn.ERR_OP_DONE == -514 and cn.ERR_OP_CANCELLED == -515 and cn.ERR_GONE == -516
		and cn.ERR_BUSY == -517 and cn.ERR_OP_UNKNOWN == -518)
	assert(h.ctx:set_option("push_max_errors", 2))
	assert(h.ctx:set_option("push_id_prefix", "lua-"))
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	assert(s:handle_iq(enable_iq("e2", NODE)))
	assert(#added == 2 and added[1].change == "added" and added[2].change == "replaced")
	assert(added[1].session == s and added[1].jid == PUSH and added[1].node == NODE)
	s:free()
	assert(h.ctx:offline(ACCOUNT, message("m1")) == 1)
	local id = h.last_id()
	assert(id:match("^lua%-%x+$") and #id == 36)
	assert(h.ctx:is_outstanding(id) == true and h.ctx:is_outstanding("nope") == false)
	local ok, _, code = h.ctx:app_reply_fields{ id = id, from = "evil.example", type = "result" }
	assert(ok == nil and code == cn.ERR_FOREIGN_SENDER)
	assert(h.ctx:app_reply_fields{ id = id, from = PUSH, type = "error", error_type = "cancel",
		error_condition = "gone" } == true)
	assert(#outcomes == 1 and outcomes[1].outcome == "error" and outcomes[1].id == id)
	assert(outcomes[1].errors == 1 and outcomes[1].error_condition == "gone" and outcomes[1].node == NODE)
	ok, _, code = h.ctx:app_reply_fields{ id = id, from = PUSH, type = "error", error_type = "bogus" }
	assert(ok == nil and code == cn.ERR_INVALID_ARGUMENT)
	assert(h.ctx:offline(ACCOUNT, message("m2")) == 1)
	assert(h.ctx:app_reply("<iq type='error' id='" .. h.last_id() .. "' from='" .. PUSH .. "'><error type='auth'>"
		.. "<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>") == true)
	assert(#h.removed == 1 and h.removed[1].reason == "errors")
	assert(h.removed[1].error_type == "auth" and h.removed[1].error_condition == "forbidden")
	local c = h.ctx:counters()
	assert(c.publishes_sent == 2 and c.replies_error == 2 and c.replies_foreign == 1)
	assert(c.enables == 2 and c.removed_errors == 1 and c.outstanding == 0 and c.sessions == 0)
	for _, k in ipairs { "removed_account", "removed_remote", "removed_expired", "removed_client_replaced",
		"suppressed_quiet", "suppressed_grace", "suppressed_rate", "suppressed_filter", "suppressed_backoff",
		"calls_pushed", "calls_stale", "replies_transient", "publishes_encrypted" } do
		assert(math.type(c[k]) == "integer", k)
		assert(h.ctx:counter(k) == c[k], k)
	end
	assert(h.ctx:counter("replies_error") == 2 and h.ctx:counter(cn.ERR_XML) == nil)
	ok, _, code = h.ctx:counter("no_such_counter")
	assert(ok == nil and code == cn.ERR_UNKNOWN_OPTION)
	local foreign = h.logged("unexpected sender")
	assert(foreign and foreign.id == "reply-foreign-sender" and foreign.level == "warn")
	assert(h.ctx:set_option("push_log_level", "none"))
	local before = #h.logs
	assert(h.ctx:offline(ACCOUNT, message("m3")) == 0)
	assert(h.ctx:has_push("romeo@montague.example") == false)
	assert(#h.logs == before)
	h.ctx:free()
end)

test("disable", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	assert(s:handle_iq("<iq type='set' id='d'><disable xmlns='urn:xmpp:push:0' jid='" .. PUSH .. "'/></iq>"))
	local client = h.by_route("client")
	assert(#client == 2 and client[2].xml:find("type='result'") and client[2].xml:find("id='d'"))
	assert(#h.removed == 1 and h.removed[1].reason == "disabled")
	assert(h.ctx:has_push(ACCOUNT) == false)
	h.ctx:free()
	raises(function() s:queued("<message/>") end, "freed")
	assert(s:free() == true, "a session freed with its ctx can still be freed")
end)

test("ping", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e1", "n1")))
	-- another client: the same one would replace its registration (0.3)
	assert(s:set_client_id("second-device"))
	assert(s:handle_iq(enable_iq("e2", "n2")))
	assert(h.ctx:ping(ACCOUNT) == 2)
	assert(h.ctx:ping(ACCOUNT, { { jid = PUSH, node = "n2" } }) == 1)
	assert(h.ctx:ping(ACCOUNT, { { jid = PUSH } }) == 2, "no node: every node of that jid")
	assert(h.ctx:ping(ACCOUNT, { { jid = "other.example", node = "n1" } }) == 0)
	assert(#h.by_route("app") == 5)
	local ok, err, code = h.ctx:ping("not a jid@@", nil)
	assert(ok == nil and err and code == cn.ERR_JID_MALFORMED)
	h.ctx:free()
end)

test("hibernation: five queued stanzas, one push after the coalescing window", function()
	local h = recorder()
	assert(h.ctx:next_timeout() == -1)
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	assert(s:sm_enabled())
	assert(s:hibernated(nil))
	assert(#h.hibernation >= 1 and h.hibernation[1].session == s and h.hibernation[1].seconds > 0)
	local before = #h.by_route("app")
	for i = 1, 5 do assert(s:queued(message("q" .. i, "hi " .. i))) end
	assert(#h.by_route("app") == before, "nothing before the window closes")
	assert(h.timers[#h.timers] == 1000, "timer armed for the coalescing window")
	assert(h.ctx:next_timeout() == 1000)
	h.clock = h.clock + 1000
	assert(h.ctx:next_timeout() == 0)
	assert(h.ctx:tick() == true)
	assert(#h.by_route("app") == before + 1, "exactly one publish")
	local ok, err, code = s:hibernated({ "<message/>" })
	assert(ok == nil and err and code == cn.ERR_STATE, "already hibernated")
	assert(s:resumed())
	assert(s:hibernated({ message("x1"), message("x2") }))
	assert(s:resumed())
	assert(s:ack_requested())
	assert(s:acked(3))
	assert(s:ack_delayed(nil))
	assert(s:ack_delayed({ message("y1") }))
	h.ctx:free()
end)

test("Lua store: registrations survive a second ctx", function()
	local data = {}
	local calls = { load = 0, save = 0, remove = 0 }
	local function key(jid, node) return jid .. "<" .. (node or "") end
	local store = {
		load = function(account)
			calls.load = calls.load + 1
			local out = {}
			for _, rec in pairs(data[account] or {}) do out[#out + 1] = rec end
			return out
		end,
		save = function(account, rec)
			calls.save = calls.save + 1
			data[account] = data[account] or {}
			data[account][key(rec.jid, rec.node)] = {
				jid = rec.jid, node = rec.node, publish_options = rec.publish_options, enabled_at = rec.enabled_at,
			}
			return true
		end,
		remove = function(account, jid, node)
			calls.remove = calls.remove + 1
			if data[account] then data[account][key(jid, node)] = nil end
			return true
		end,
	}
	local h1 = recorder()
	assert(h1.ctx:set_store(store) == true)
	local s = assert(h1.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(ENABLE_WITH_FORM))
	local rec = data[ACCOUNT][key(PUSH, NODE)]
	assert(rec and rec.publish_options:find(SECRET, 1, true) and rec.enabled_at == h1.clock)
	local ok, err, code = h1.ctx:set_store(nil)
	assert(ok == nil and err and code == cn.ERR_STATE, "no store swap with live sessions")
	h1.ctx:free()

	local h2 = recorder()
	assert(h2.ctx:set_store(store))
	assert(h2.ctx:has_push(ACCOUNT) == true)
	assert(h2.ctx:offline(ACCOUNT, message("m1")) == 1)
	assert(h2.by_route("app")[1].xml:find(SECRET, 1, true), "publish-options came back from the store")
	local s2 = assert(h2.ctx:session(ACCOUNT, "tablet"))
	assert(s2:handle_iq("<iq type='set' id='d'><disable xmlns='urn:xmpp:push:0' jid='" .. PUSH .. "'/></iq>"))
	assert(next(data[ACCOUNT]) == nil and calls.remove == 1)
	s2:free()
	assert(calls.load >= 2 and calls.save == 1)

	-- Failures and malformed records.
	local h3 = recorder()
	assert(h3.ctx:set_store{
		load = function(account)
			if account == "bad@capulet.example" then return nil, "database down" end
			return { { jid = PUSH, node = "ok", enabled_at = 5 }, { jid = 42 }, "junk", { jid = "a b@@" } }
		end,
		save = function() return nil, "disk full" end,
		remove = function() error("no remove today") end,
	})
	local ok3, err3, code3 = h3.ctx:has_push("bad@capulet.example")
	assert(ok3 == nil and err3 and code3 == cn.ERR_STORE)
	assert(h3.logged("database down"), "the store's reason is logged")
	assert(h3.ctx:has_push(ACCOUNT) == true, "valid records load, malformed ones are skipped")
	assert(h3.logged("malformed record"))
	local s3 = assert(h3.ctx:session("romeo@montague.example", "phone"))
	assert(s3:handle_iq(enable_iq("e", NODE)))
	local reply = h3.by_route("client")[1].xml
	assert(reply:find("type='error'") and reply:find("internal%-server%-error"), reply)
	assert(h3.logged("disk full"))
	h3.ctx:free()
	raises(function() h3.ctx:set_store{ load = print, save = print } end)
	local h4 = recorder()
	raises(function() h4.ctx:set_store{ load = print, save = print } end, "remove must be a function")
	raises(function() h4.ctx:set_store(42) end)
	h4.ctx:free()
end)

test("registration filter veto", function()
	local seen
	local h = recorder{
		registration_filter = function(session, account, jid, node)
			seen = { session = session, account = account, jid = jid, node = node }
			if node == "blocked" then return "modify", "policy-violation" end
			if node == "bogus" then return "whatever", "no-such-condition" end
			return nil
		end,
	}
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e1", "blocked")))
	assert(seen.session == s and seen.account == ACCOUNT and seen.jid == PUSH and seen.node == "blocked")
	local reply = h.by_route("client")[1].xml
	assert(reply:find("type='error'") and reply:find("<error type='modify'>", 1, true)
		and reply:find("<policy-violation ", 1, true), reply)
	assert(h.ctx:has_push(ACCOUNT) == false)
	assert(s:handle_iq(enable_iq("e2", "bogus")))
	reply = h.by_route("client")[2].xml
	assert(reply:find("<error type='cancel'>", 1, true) and reply:find("<not-allowed ", 1, true), reply)
	assert(s:handle_iq(enable_iq("e3", "fine")))
	assert(h.by_route("client")[3].xml:find("type='result'"))
	assert(h.ctx:has_push(ACCOUNT) == true)
	h.ctx:free()
end)

test("notification filter: drop, amend, push object lifetime", function()
	local kept, fields
	local h = recorder{
		notification_filter = function(push)
			kept = push
			fields = { account = push.account, jid = push.jid, node = push.node, body = push.body,
				sender = push.sender, important = push.important, urgent = push.urgent, session = push.session,
				stanza_type = push.stanza_type, stanza_id = push.stanza_id }
			if push.node == "drop" then return true end
			assert(push:set_body("Custom body"))
			assert(push:set_sender(nil))
			assert(push:add_field("x-app", "a&b"))
			local ok, err, code = push:add_field("message-count", "9")
			assert(ok == nil and code == cn.ERR_INVALID_ARGUMENT, err)
			ok, err, code = push:set_extra("<a/>")
			assert(ok == nil and code == cn.ERR_XML, err)
			assert(push:set_extra("<info xmlns='urn:example:info'>4</info>"))
			return false
		end,
	}
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", "drop")))
	s:free()
	assert(h.ctx:offline(ACCOUNT, message("m1")) == 0)
	assert(#h.by_route("app") == 0, "dropped")
	assert(fields.account == ACCOUNT and fields.jid == PUSH and fields.node == "drop")
	assert(fields.important == true and fields.urgent == false and fields.session == nil)
	assert(fields.body == "New Message!" and fields.sender == "romeo@montague.example/orchard")
	assert(fields.stanza_type == "chat" and fields.stanza_id == "m1", tostring(fields.stanza_id))
	raises(function() return kept.account end, "outside the notification filter")
	raises(function() kept:set_body("x") end, "outside the notification filter")

	s = assert(h.ctx:session(ACCOUNT, "tablet"))
	assert(s:handle_iq("<iq type='set' id='d'><disable xmlns='urn:xmpp:push:0' jid='" .. PUSH .. "'/></iq>"))
	assert(s:handle_iq(enable_iq("e2", "keep")))
	assert(h.ctx:offline(ACCOUNT, message("m2")) == 1)
	local app = h.by_route("app")
	assert(#app == 1 and app[1].xml:find("Custom body", 1, true))
	assert(app[1].xml:find("<field var='x-app'><value>a&amp;b</value></field>", 1, true), app[1].xml)
	assert(app[1].xml:find("</x><info xmlns='urn:example:info'>4</info></notification>", 1, true))
	s:free()
	h.ctx:free()
end)

test("a Lua error in send is contained", function()
	local h = recorder{ send = function(route) error("boom in send") end }
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	local ok, err, code = s:handle_iq(enable_iq("e", NODE))
	assert(ok == nil and err and code == cn.ERR_SEND, "the reply could not be sent")
	local l = h.logged("boom in send")
	assert(l and l.level == "error" and l.msg:find("send callback"), "the error went to the log callback")
	assert(h.ctx:has_push(ACCOUNT) == true, "the enable stands")
	assert(h.ctx:offline(ACCOUNT, message("m1")) == 0, "a failing send is a push not sent")
	s:free()
	h.ctx:free()

	-- send refusing with nil, err
	local h2 = recorder{ send = function() return nil, "link down" end }
	local s2 = assert(h2.ctx:session(ACCOUNT, "phone"))
	local ok2, _, code2 = s2:handle_iq(enable_iq("e", NODE))
	assert(ok2 == nil and code2 == cn.ERR_SEND and h2.logged("link down"))
	h2.ctx:free()

	-- errors in other callbacks: filters accept, the clock falls back
	local h3 = recorder{
		registration_filter = function() error("filter bug") end,
		notification_filter = function() error("filter bug 2") end,
		now = function() return "not a number" end,
		timer = function() error("timer bug") end,
	}
	local s3 = assert(h3.ctx:session(ACCOUNT, "phone"))
	assert(s3:handle_iq(enable_iq("e", NODE)))
	assert(h3.by_route("client")[1].xml:find("type='result'"), "a failing registration filter accepts")
	s3:free()
	assert(h3.ctx:offline(ACCOUNT, message("m1")) == 1, "a failing notification filter sends")
	assert(h3.logged("filter bug") and h3.logged("filter bug 2") and h3.logged("now must return"))
	h3.ctx:free()
end)

test("errors without a log callback go to stderr, log errors too", function()
	-- Only checks that nothing escapes; the messages land on stderr.
	local ctx = assert(cn.new{ send = function() error("no log here") end, log = function() error("log bug") end })
	local s = assert(ctx:session(ACCOUNT, "phone"))
	local ok, _, code = s:handle_iq(enable_iq("e", NODE))
	assert(ok == nil and code == cn.ERR_SEND)
	ctx:free()
end)

test("set_option conversions and errors", function()
	local h = recorder()
	assert(h.ctx:set_option("push_notification_with_body", true) == true)
	assert(h.ctx:set_option("push_max_devices", 3) == true)
	assert(h.ctx:set_option("push_max_devices", 4.0) == true)
	assert(h.ctx:set_option("push_max_errors", "7") == true)
	assert(h.ctx:set_option("push_notification_important_body", "Ping!") == true)
	local ok, err, code = h.ctx:set_option("no_such_option", 1)
	assert(ok == nil and type(err) == "string" and code == cn.ERR_UNKNOWN_OPTION)
	ok, err, code = h.ctx:set_option("push_max_devices", 0)
	assert(ok == nil and err == cn.strerror(cn.ERR_OPTION_VALUE) and code == cn.ERR_OPTION_VALUE)
	ok, err, code = h.ctx:set_option("push_max_devices", 2.5)
	assert(ok == nil and code == cn.ERR_OPTION_VALUE)
	ok, err, code = h.ctx:set_option("push_max_devices", "many")
	assert(ok == nil and code == cn.ERR_OPTION_VALUE)
	ok, err, code = h.ctx:set_option("push_notification_with_body", "maybe")
	assert(ok == nil and code == cn.ERR_OPTION_VALUE)
	raises(function() h.ctx:set_option("push_max_devices", {}) end, "boolean, number or string")
	raises(function() h.ctx:set_option(nil, 1) end)
	-- with_body is on: the real body goes out
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	s:free()
	assert(h.ctx:offline(ACCOUNT, message("m1", "secret words")) == 1)
	assert(h.by_route("app")[1].xml:find("secret words", 1, true))
	h.ctx:free()
end)

test("device limit evicts", function()
	local h = recorder()
	assert(h.ctx:set_option("push_max_devices", 1))
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e1", "n1")))
	h.clock = h.clock + 10
	-- another device: the same client's new enable replaces its own (0.3)
	local s2 = assert(h.ctx:session(ACCOUNT, "tablet"))
	assert(s2:handle_iq(enable_iq("e2", "n2")))
	assert(#h.removed == 1 and h.removed[1].reason == "evicted" and h.removed[1].node == "n1")
	h.ctx:free()
end)

test("archived and groupchat_bare", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	s:free()
	assert(h.ctx:archived(ACCOUNT, message("a1"), "archive-1") == 1)
	assert(h.ctx:archived(ACCOUNT, message("a2")) == 1, "archive id is optional")
	local gc = "<message type='groupchat' from='room@muc.example/romeo' to='" .. ACCOUNT
		.. "' id='g1'><body>all</body></message>"
	assert(h.ctx:groupchat_bare(ACCOUNT, gc) == 1)
	local ok, err, code = h.ctx:offline(ACCOUNT, "<message><body>unclosed")
	assert(ok == nil and err and code == cn.ERR_XML)
	ok, err, code = h.ctx:offline(ACCOUNT, "<message>\0</message>")
	assert(ok == nil and code == cn.ERR_XML, "embedded zero in XML is the library's business")
	h.ctx:free()
end)

test("argument errors raise", function()
	raises(function() cn.new(42) end)
	raises(function() cn.new{ sned = function() end } end, "unknown callback 'sned'")
	raises(function() cn.new{ send = 42 } end, "must be a function")
	raises(function() cn.strerror("x") end)
	local h = recorder()
	raises(function() h.ctx:session(ACCOUNT) end)
	raises(function() h.ctx:session(ACCOUNT, "ph\0one") end, "embedded zero")
	raises(function() h.ctx:offline({}, "<message/>") end)
	raises(function() h.ctx:offline(ACCOUNT) end)
	raises(function() h.ctx:archived(ACCOUNT, "<message/>", {}) end)
	raises(function() h.ctx:has_push() end)
	raises(function() h.ctx:ping(ACCOUNT, "all") end)
	raises(function() h.ctx:ping(ACCOUNT, { { node = "x" } }) end, "jid must be a string")
	raises(function() h.ctx:ping(ACCOUNT, { "x" }) end, "not a table")
	raises(function() h.ctx:app_reply(nil) end)
	raises(function() h.ctx.tick(42) end)
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	raises(function() s:queued(nil) end)
	raises(function() s:acked("many") end)
	raises(function() s:hibernated({ "<message/>", 42 }) end, "not a string")
	raises(function() s:ack_delayed("x") end)
	raises(function() s.handle_iq(h.ctx, "<iq/>") end)
	raises(function() s.bogus = 1 end, "only the field 'data'")
	local ok, err, code = h.ctx:session("not a jid@@", "phone")
	assert(ok == nil and err and code == cn.ERR_JID_MALFORMED, "library errors do not raise")
	h.ctx:free()
end)

test("session data, identity and lookup", function()
	local h = recorder()
	local s = assert(h.ctx:session("Juliet@Capulet.Example", "phone"))
	assert(s.account == ACCOUNT, "normalised")
	assert(s.data == nil)
	local host_session = { name = "prosody session" }
	s.data = host_session
	assert(s.data == host_session)
	assert(s:handle_iq(enable_iq("e", NODE)))
	assert(h.by_route("client")[1].session.data == host_session)
	assert(tostring(s):find("juliet@capulet.example/phone", 1, true))
	s.data = nil
	assert(s.data == nil)
	h.ctx:free()
	assert(tostring(s):find("freed"))
end)

test("re-entering from a callback", function()
	local results = {}
	local h
	h = recorder{
		send = function(route, session)
			results.tick = { h.ctx:tick() }
			results.free = { session:free() }
			results.ctxfree = { h.ctx:free() }
			results.offline = { h.ctx:offline(ACCOUNT, message("r")) }
			results.next = h.ctx:next_timeout()
			return true
		end,
	}
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	assert(results.tick[1] == nil and results.tick[3] == cn.ERR_REENTRANT)
	-- Freeing the session from a callback is deferred by the library, not
	-- refused: the object lets go of it at once.
	assert(results.free[1] == true)
	assert(results.ctxfree[1] == nil and results.ctxfree[3] == cn.ERR_REENTRANT)
	assert(results.offline[3] == cn.ERR_REENTRANT)
	assert(results.next == -1)
	raises(function() s:sm_enabled() end, "freed")
	assert(s:free() == true)
	assert(h.ctx:has_push(ACCOUNT) == true, "the enable stood")
	assert(h.ctx:set_store(nil) == true, "no session is left")
	h.ctx:free()
end)

test("administration: listing, client ids, error counts, forget and remove_all", function()
	local data, calls = {}, { set_errors = 0 }
	local function key(jid, node) return jid .. "<" .. (node or "") end
	local store = {
		load = function(account)
			local out = {}
			for _, rec in pairs(data[account] or {}) do out[#out + 1] = rec end
			return out
		end,
		save = function(account, rec)
			data[account] = data[account] or {}
			data[account][key(rec.jid, rec.node)] = rec
			return true
		end,
		remove = function(account, jid, node)
			if data[account] then data[account][key(jid, node)] = nil end
			return true
		end,
		set_errors = function(account, jid, node, errors)
			calls.set_errors = calls.set_errors + 1
			data[account][key(jid, node)].errors = errors
			return true
		end,
	}
	local seen
	local h = recorder{ notification_filter = function(push) seen = push.client_id; return false end }
	assert(h.ctx:set_store(store))
	assert(h.ctx:set_option("push_max_errors", 2))
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:client_id() == nil and s:has_push() == false)
	local ok, err, code = s:set_client_id("bad\1id")
	assert(ok == nil and code == cn.ERR_INVALID_ARGUMENT)
	assert(s:set_client_id("urn:uuid:1234"))
	assert(s:client_id() == "urn:uuid:1234")
	assert(s:handle_iq(ENABLE_WITH_FORM))
	assert(s:has_push() == true)
	assert(data[ACCOUNT][key(PUSH, NODE)].client_id == "urn:uuid:1234")
	assert(data[ACCOUNT][key(PUSH, NODE)].errors == 0)

	-- One counted error, stored through set_errors.
	assert(h.ctx:ping(ACCOUNT) == 1)
	assert(seen == "urn:uuid:1234")
	local id = h.last_id()
	assert(h.ctx:app_reply("<iq type='error' id='" .. id .. "' from='" .. PUSH .. "'>"
		.. "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"))
	assert(calls.set_errors == 1 and data[ACCOUNT][key(PUSH, NODE)].errors == 1)

	local regs = assert(h.ctx:registrations(ACCOUNT))
	assert(#regs == 1)
	assert(regs[1].jid == PUSH and regs[1].node == NODE and regs[1].errors == 1)
	assert(regs[1].client_id == "urn:uuid:1234" and regs[1].enabled_at == h.clock)
	assert(regs[1].publish_options:find(SECRET, 1, true))
	assert(#assert(h.ctx:registrations("romeo@montague.example")) == 0)
	local ok2, err2, code2 = h.ctx:registrations("not a jid")
	assert(ok2 == nil and code2 == cn.ERR_JID_MALFORMED)

	-- Another node adds a registration; forget reloads it, the session stays bound.
	data[ACCOUNT][key("other.example", nil)] = { jid = "other.example", enabled_at = h.clock + 1, errors = 1 }
	assert(#assert(h.ctx:registrations(ACCOUNT)) == 1, "the cache rules until forgotten")
	assert(h.ctx:forget(ACCOUNT) == true)
	regs = assert(h.ctx:registrations(ACCOUNT))
	assert(#regs == 2 and regs[1].jid == "other.example" and regs[1].errors == 1)
	assert(s:has_push() == true)

	-- The account is deleted.
	assert(h.ctx:remove_all(ACCOUNT) == 2)
	assert(next(data[ACCOUNT]) == nil)
	assert(#h.removed == 2 and h.removed[1].reason == "account" and h.removed[2].reason == "account")
	assert(s:has_push() == false)
	s:free()
	h.ctx:free()
	raises(function() h.ctx:remove_all(ACCOUNT) end, "freed")
	h4 = recorder()
	raises(function() h4.ctx:set_store{ load = print, save = print, remove = print, set_errors = 1 } end,
		"set_errors must be a function")
	h4.ctx:free()
end)

test("stream management comes first", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	local ok, err, code = s:hibernated({ message("m1") })
	assert(ok == nil and code == cn.ERR_STATE)
	assert(#h.hibernation == 0 and #h.by_route("app") == 0)
	assert(s:sm_enabled())
	assert(s:hibernated({ message("m1") }))
	-- Extended, then back to normal once the important push went out.
	assert(#h.hibernation == 2 and h.hibernation[1].seconds > 0 and h.hibernation[2].seconds == -1)
	assert(#h.by_route("app") == 1, #h.by_route("app"))
	s:free()
	h.ctx:free()
end)

test("callbacks run on the calling coroutine", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	local co = coroutine.create(function()
		assert(s:handle_iq(enable_iq("e", NODE)))
		coroutine.yield()
		assert(h.ctx:offline(ACCOUNT, message("m1")) == 1)
	end)
	assert(coroutine.resume(co))
	assert(h.sent[1].thread == co)
	assert(h.ctx:ping(ACCOUNT) == 1)
	assert(h.sent[2].thread ~= co)
	assert(coroutine.resume(co))
	assert(coroutine.status(co) == "dead")
	assert(h.sent[3].thread == co)
	co = nil
	collectgarbage()
	assert(h.ctx:ping(ACCOUNT) == 1, "no trace of the dead coroutine is used")
	s:free()
	h.ctx:free()
end)

-- util.stanza-shaped tables, as Prosody routes them: name, attr (xmlns
-- only where the namespace changes; "xml:lang"; "uri\1name" for other
-- namespaced attributes), tags, and the children in the array part.
local function el(name, attr, children)
	local t = { name = name, attr = attr or {}, tags = {} }
	for _, c in ipairs(children or {}) do
		t[#t + 1] = c
		if type(c) == "table" then t.tags[#t.tags + 1] = c end
	end
	return t
end

local function esc(s)
	return (s:gsub("[&<>\"'\r\n\t]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
		['"'] = "&quot;", ["'"] = "&apos;", ["\r"] = "&#13;", ["\n"] = "&#10;", ["\t"] = "&#9;" }))
end

-- The library's text form of a table it built: xmlns first, then the
-- other attributes in the order given by keys (the library's own order
-- is not kept by a Lua table).
local function text_of(t, keys)
	local out = { "<", t.name }
	if t.attr.xmlns then out[#out + 1] = " xmlns='" .. esc(t.attr.xmlns) .. "'" end
	for _, k in ipairs(keys[t.name] or {}) do
		if t.attr[k] then out[#out + 1] = " " .. k .. "='" .. esc(t.attr[k]) .. "'" end
	end
	if #t == 0 then out[#out + 1] = "/>"; return table.concat(out) end
	out[#out + 1] = ">"
	for _, c in ipairs(t) do out[#out + 1] = type(c) == "string" and esc(c) or text_of(c, keys) end
	out[#out + 1] = "</" .. t.name .. ">"
	return table.concat(out)
end

local ATTR_ORDER = { iq = { "type", "id", "from", "to" }, publish = { "node" }, x = { "type" },
	field = { "var" }, value = { "xml:lang" }, error = { "type" } }

local function message_tree(id, body)
	return el("message", { type = "chat", from = "romeo@montague.example/orchard", to = ACCOUNT, id = id },
		{ el("body", nil, { body or "Wherefore art thou?" }) })
end

local function enable_tree(id, node)
	return el("iq", { type = "set", id = id }, {
		el("enable", { xmlns = "urn:xmpp:push:0", jid = PUSH, node = node }, {
			el("x", { xmlns = "jabber:x:data", type = "submit" }, {
				el("field", { var = "FORM_TYPE" }, { el("value", nil, { "http://jabber.org/protocol/pubsub#publish-options" }) }),
				-- One attribute per element: a table's order is not the text's.
				el("field", { var = "secret" }, { el("value", { ["xml:lang"] = "en" }, { SECRET .. " & <co>" }) }),
			}),
		}),
	})
end

local ENABLE_TEXT = "<iq type='set' id='t1'><enable xmlns='urn:xmpp:push:0' jid='" .. PUSH .. "' node='" .. NODE .. "'>"
	.. "<x xmlns='jabber:x:data' type='submit'>"
	.. "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
	.. "<field var='secret'><value xml:lang='en'>" .. SECRET .. " &amp; &lt;co&gt;</value></field></x></enable></iq>"

local function normalised(h)
	local out = {}
	for i, m in ipairs(h.sent) do
		local x = m.xml
		if type(x) == "table" then x = text_of(x, ATTR_ORDER) end
		out[i] = m.route .. " " .. m.to .. " " .. x:gsub("id='%x+'", "id='ID'")
	end
	return table.concat(out, "\n")
end

-- One script, fed text or tables.
local function tree_script(h, as_tree)
	local function m(id, body)
		if as_tree then return message_tree(id, body) end
		return message(id, body)
	end
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:sm_enabled())
	assert(s:handle_iq(as_tree and enable_tree("t1", NODE) or ENABLE_TEXT))
	assert(h.ctx:offline(ACCOUNT, m("o1", "tab\there")) == 1)
	assert(h.ctx:offline(ACCOUNT, m("o1", "tab\there")) == 0, "the same stanza twice")
	assert(h.ctx:groupchat_bare(ACCOUNT, m("g1")) == 1)
	assert(h.ctx:archived(ACCOUNT, m("a1"), "arch-1") == 0, "bound to a live session")
	assert(s:hibernated({ m("h1"), m("h2") }))
	assert(s:queued(m("q1")))
	h.clock = h.clock + 2000
	assert(h.ctx:tick())
	assert(s:resumed())
	assert(s:ack_delayed({ m("d1") }))
	-- A reply to the first publish: a result from the app server.
	local id = h.by_route("app")[1]
	id = type(id.xml) == "table" and id.xml.attr.id or id.xml:match(" id='(%x+)'")
	local reply = as_tree and el("iq", { type = "result", id = id, from = PUSH })
		or "<iq type='result' id='" .. id .. "' from='" .. PUSH .. "'/>"
	assert(h.ctx:app_reply(reply))
	local _, _, code = h.ctx:app_reply(reply)
	assert(code == cn.ERR_NOT_MINE, "consumed once")
	local bad = as_tree and el("iq", { type = "set", id = "b" }, { el("frobnicate", { xmlns = "urn:xmpp:push:0" }) })
		or "<iq type='set' id='b'><frobnicate xmlns='urn:xmpp:push:0'/></iq>"
	assert(s:handle_iq(bad))
	return s
end

test("stanzas as tables give what their text gives", function()
	local a, b = recorder(), recorder()
	tree_script(a, false)
	tree_script(b, true)
	assert(#a.sent >= 7, "the script sends")
	assert(normalised(a) == normalised(b), normalised(a) .. "\n---\n" .. normalised(b))
end)

test("stanzas out as util.stanza tables with stanza_mt", function()
	local mt = { __index = {} }
	local text_host = recorder()
	local sent = {}
	local h = recorder{ stanza_mt = mt, send = function(route, session, account, to, stanza, id)
		assert(getmetatable(stanza) == mt)
		assert(id == stanza.attr.id)
		local tags = 0
		for _, c in ipairs(stanza) do if type(c) == "table" then tags = tags + 1; assert(getmetatable(c) == mt) end end
		assert(tags == #stanza.tags)
		sent[#sent + 1] = { route = route, session = session, account = account, to = to, xml = stanza, id = id }
		return true
	end }
	h.by_route = function(route)
		local out = {}
		for _, m in ipairs(sent) do if m.route == route then out[#out + 1] = m end end
		return out
	end
	local ok, err = pcall(tree_script, h, true)
	if not ok then
		for _, l in ipairs(h.logs) do print(l.level, l.msg) end
		error(err)
	end
	tree_script(text_host, false)
	h.sent = sent
	assert(normalised(h) == normalised(text_host), normalised(h) .. "\n---\n" .. normalised(text_host))
	local publish = sent[2].xml
	assert(sent[2].route == "app" and #sent[2].id == 32 and sent[2].id:match("^%x+$"))
	local pubsub = publish.tags[1]
	assert(publish.attr.xmlns == nil and pubsub.attr.xmlns == "http://jabber.org/protocol/pubsub")
	assert(pubsub.tags[1].attr.xmlns == nil, "inherits its parent's namespace")
	local form = pubsub.tags[2].tags[1]
	assert(form.attr.xmlns == "jabber:x:data" and form.tags[2].tags[1].attr["xml:lang"] == "en")
	assert(form.tags[2].tags[1][1] == SECRET .. " & <co>")
	-- An IQ error reply to an IQ without id has no id.
	local s = assert(h.ctx:session(ACCOUNT, "other"))
	assert(s:handle_iq(el("iq", { type = "set" }, { el("enable", { xmlns = "urn:xmpp:push:0", jid = PUSH }) })))
	assert(sent[#sent].id == nil and sent[#sent].xml.attr.type == "error")
end)

test("publishes share unchanged subtrees, never changed ones nor client stanzas", function()
	local mt = { __index = {} }
	local sent = {}
	local h = recorder{ stanza_mt = mt, send = function(route, session, account, to, stanza, id)
		sent[#sent + 1] = { route = route, xml = stanza }
		return true
	end }
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	s:free()
	local function publish(id)
		assert(h.ctx:offline(ACCOUNT, message(id)) == 1)
		assert(sent[#sent].route == "app")
		return sent[#sent].xml
	end
	local function text(p) return (text_of(p, ATTR_ORDER):gsub("id='%x+'", "id='ID'")) end
	local p1, p2 = publish("m1"), publish("m2")
	local want = text(p1)
	assert(p1 ~= p2 and p1.attr.id ~= p2.attr.id, "the root is the publish's own")
	assert(p1.tags[1] == p2.tags[1] and p1[1] == p2.tags[1], "an equal <pubsub/> is shared")
	assert(text(p2) == want)
	-- A host module changes a shared table: the next publish does not carry it.
	local form = p2.tags[1].tags[1].tags[1].tags[1].tags[1]
	assert(form.name == "x")
	form.attr.changed = "yes"
	local p3 = publish("m3")
	assert(text(p3) == want and not text(p3):find("changed", 1, true), text(p3))
	assert(p3.tags[1] ~= p2.tags[1], "a changed subtree is built afresh")
	assert(p3.tags[1].tags[1].tags[1].tags[1].tags[1].tags[1] == form.tags[1], "its unchanged parts are still shared")
	local p4 = publish("m4")
	assert(p4.tags[1] == p3.tags[1] and text(p4) == want)
	-- A child added, a text changed, an element replaced: each is seen.
	local notification = p4.tags[1].tags[1].tags[1].tags[1]
	local extra = setmetatable({ name = "extra", attr = {}, tags = {} }, mt)
	notification[#notification + 1] = extra
	notification.tags[#notification.tags + 1] = extra
	local p5 = publish("m5")
	assert(text(p5) == want and p5.tags[1] ~= p4.tags[1], text(p5))
	local value = p5.tags[1].tags[1].tags[1].tags[1].tags[1].tags[1].tags[1]
	assert(value.name == "value" and value[1] == "urn:xmpp:push:summary")
	value[1] = "urn:changed"
	local p6 = publish("m6")
	assert(text(p6) == want, text(p6))
	local x6 = p6.tags[1].tags[1].tags[1].tags[1].tags[1]
	x6.tags[2] = setmetatable({ name = "field", attr = {}, tags = {} }, mt)
	local p7 = publish("m7")
	assert(text(p7) == want and p7.tags[1].tags[1].tags[1].tags[1].tags[1] ~= x6, text(p7))
	setmetatable(p7.tags[1], nil)
	local p8 = publish("m8")
	assert(p8.tags[1] ~= p7.tags[1] and getmetatable(p8.tags[1]) == mt and text(p8) == want)
	-- Stanzas to clients are always their own.
	local c = assert(h.ctx:session(ACCOUNT, "laptop"))
	local bad = "<iq type='set' id='b'><frobnicate xmlns='urn:xmpp:push:0'/></iq>"
	assert(c:handle_iq(bad))
	local r1 = sent[#sent]
	assert(c:handle_iq(bad))
	local r2 = sent[#sent]
	assert(r1.route == "client" and r2.route == "client" and #r1.xml.tags > 0)
	assert(r1.xml.tags[1] ~= r2.xml.tags[1] and text(r1.xml) == text(r2.xml))
	c:free()
	h.ctx:free()
end)

test("deep publish-options come out as tables, twice", function()
	local mt = { __index = {} }
	local sent = {}
	local h = recorder{ stanza_mt = mt, send = function(route, session, account, to, stanza)
		sent[#sent + 1] = { route = route, xml = stanza }
		return true
	end }
	assert(h.ctx:set_option("push_max_xml_depth", 256))
	local deep = 240
	local form = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
		.. "http://jabber.org/protocol/pubsub#publish-options</value></field><field var='d'><value>"
		.. ("<n>"):rep(deep) .. "v" .. ("</n>"):rep(deep) .. "</value></field></x>"
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq("<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' jid='" .. PUSH
		.. "' node='" .. NODE .. "'>" .. form .. "</enable></iq>"))
	s:free()
	local function depth(t) local d = 0; while type(t) == "table" do d = d + 1; t = t[1] end return d end
	for i = 1, 2 do
		assert(h.ctx:offline(ACCOUNT, message("m" .. i)) == 1)
		local p = sent[#sent]
		assert(p.route == "app")
		-- iq, pubsub, publish-options, x, field, value, then the n elements
		local opts = p.xml.tags[1].tags[2]
		assert(opts.name == "publish-options" and depth(opts.tags[1].tags[2]) == deep + 2)
	end
	assert(sent[#sent].xml.tags[1].tags[2] == sent[#sent - 1].xml.tags[1].tags[2], "shared")
	h.ctx:free()
end)

test("tables the library cannot take", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	local function expect_xml(stanza)
		local ok, err, code = h.ctx:offline(ACCOUNT, stanza)
		assert(ok == nil and type(err) == "string" and code == cn.ERR_XML, tostring(code))
	end
	expect_xml({ name = 42, attr = {} })
	expect_xml(el("message", { type = 7 }, { el("body", nil, { "x" }) }))
	expect_xml(el("message", nil, { el("body", nil, { "bad\0nul" }) }))
	expect_xml(el("message", { xmlns = "urn:not-a-stanza" }, { el("body", nil, { "x" }) }))
	expect_xml(el("message", nil, { el("body", nil, { 42 }) }))
	expect_xml(el("mes sage", nil, {}))
	-- a namespaced attribute as util.xmppstream keys it is fine
	assert(h.ctx:offline(ACCOUNT, el("message", { type = "chat", ["urn:x\1a"] = "1", ["xml:lang"] = "en" },
		{ el("body", nil, { "ok" }) })) == 1)
	raises(function() s:hibernated({ message("m1"), message_tree("m2") }) end, "all strings or all stanzas")
	raises(function() s:hibernated({ message_tree("m1"), message("m2") }) end, "all strings or all stanzas")
	raises(function() cn.new{ stanza_mt = "no" } end, "stanza_mt must be a table")
	local _, _, code = h.ctx:app_reply({ name = "iq", attr = { type = "result", id = ("0"):rep(32) } })
	assert(code == cn.ERR_NOT_MINE)
end)

test("garbage collection without free", function()
	-- Nothing here may crash or leak (run under valgrind); sessions left
	-- alive are freed with the context.
	for _ = 1, 20 do
		local ctx = assert(cn.new{ send = function() return true end })
		local s = assert(ctx:session(ACCOUNT, "phone"))
		assert(s:handle_iq(enable_iq("e", NODE)))
		assert(ctx:set_option("push_max_errors", 2))
	end
	do
		local ctx <close> = assert(cn.new{ send = function() return true end })
		local s <close> = assert(ctx:session(ACCOUNT, "phone"))
		assert(s:handle_iq(enable_iq("e", NODE)))
	end
	local ctx = assert(cn.new())
	ctx:session(ACCOUNT, "a")
	ctx:session(ACCOUNT, "b")
	ctx:free()
	collectgarbage()
	collectgarbage()
end)

---------------------------------------------------------------------------
-- What phones need (0.3)

local JMI0, JMI1 = "urn:xmpp:jingle-message:0", "urn:xmpp:jingle-message:1"

local function propose(id, ns, call_id)
	return "<message type='chat' from='romeo@montague.example/orchard' to='" .. ACCOUNT .. "' id='" .. id
		.. "'><propose xmlns='" .. ns .. "' id='" .. call_id .. "'>"
		.. "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"
end

local function app_disable(from, node)
	return "<message from='" .. from .. "' to='" .. ACCOUNT .. "'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
		.. "<affiliation node='" .. node .. "' affiliation='none'/></pubsub></message>"
end

local function has(list, x)
	for _, v in ipairs(list) do if v == x then return true end end
	return false
end

test("0.3: disco features follow the options and the sender_known callback", function()
	local h = recorder()
	local f = assert(h.ctx:disco_features())
	assert(f[1] == "urn:xmpp:push:0", f[1])
	assert(not has(f, "tigase:push:filter:ignore-unknown:0"), "no sender_known, not advertised")
	h.ctx:free()
	h = recorder{ sender_known = function() return true end }
	f = assert(h.ctx:disco_features())
	assert(has(f, "tigase:push:filter:ignore-unknown:0"))
	assert(has(f, "tigase:push:filter:muted:0") and has(f, "tigase:push:priority:0"))
	assert(h.ctx:set_option("push_tigase_extensions", false))
	f = assert(h.ctx:disco_features())
	assert(#f >= 1 and f[1] == "urn:xmpp:push:0")
	for _, v in ipairs(f) do assert(not v:find("^tigase:"), v) end
	h.ctx:free()
	raises(function() h.ctx:disco_features() end, "freed")
end)

test("0.3: calls delivered to a connected session push once, by propose id", function()
	local seen = {}
	local h = recorder{
		notification_filter = function(push)
			seen[#seen + 1] = { call = push.call, call_id = push.call_id, count = push.message_count,
				important = push.important, urgent = push.urgent }
			return false
		end,
	}
	local phone = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(phone:handle_iq(enable_iq("e", NODE)))
	phone:free()
	local desk = assert(h.ctx:session(ACCOUNT, "desktop"))
	assert(desk:sm_enabled())
	assert(h.ctx:delivered(ACCOUNT, message("plain")) == 0, "only calls push from here")
	assert(h.ctx:delivered(ACCOUNT, propose("c1", JMI1, "call-A")) == 1)
	assert(h.ctx:delivered(ACCOUNT, propose("c2", JMI1, "call-A")) == 0, "same call, another message id")
	assert(h.ctx:offline(ACCOUNT, propose("c3", JMI1, "call-A")) == 0, "same call by another path")
	-- as a util.stanza table, in the other namespace
	local call_b = el("message", { type = "chat", from = "romeo@montague.example/orchard", to = ACCOUNT, id = "c4" }, {
		el("propose", { xmlns = JMI0, id = "call-B" }, {
			el("description", { xmlns = "urn:xmpp:jingle:apps:rtp:1", media = "audio" }) }) })
	assert(h.ctx:delivered(ACCOUNT, call_b) == 1, "urn:xmpp:jingle-message:0, as a tree")
	assert(#seen == 2 and seen[1].call == true and seen[1].call_id == "call-A" and seen[2].call_id == "call-B")
	assert(seen[1].important and seen[1].urgent)
	local c = h.ctx:counters()
	assert(c.calls_pushed == 2, c.calls_pushed)
	local ok, _, code = h.ctx:delivered("not a jid@@", propose("c5", JMI1, "x"))
	assert(ok == nil and code == cn.ERR_JID_MALFORMED)
	h.ctx:free()
end)

test("0.3: message count in the filter, set_message_count", function()
	local counts = {}
	local h = recorder{
		notification_filter = function(push)
			counts[#counts + 1] = push.message_count
			assert(push.call == false and push.call_id == nil)
			if push.stanza_id == "m3" then
				assert(push:set_message_count(42))
				raises(function() push:set_message_count(-1) end, "out of range")
			end
			return false
		end,
	}
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	s:free()
	for i = 1, 3 do assert(h.ctx:offline(ACCOUNT, message("m" .. i)) == 1) end
	assert(counts[1] == 1 and counts[3] >= counts[1], table.concat(counts, ","))
	local app = h.by_route("app")
	assert(app[3].xml:find("<field var='message-count'><value>42</value></field>", 1, true), app[3].xml)
	h.ctx:free()
end)

test("0.3: remote disable by the registered app server only", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	assert(h.ctx:app_message(ACCOUNT, app_disable("stranger.example", NODE)) == false)
	assert(h.ctx:app_message(ACCOUNT, message("m1")) == false, "not a pubsub message")
	assert(h.ctx:has_push(ACCOUNT) == true and #h.removed == 0)
	-- as a util.stanza table
	local disable = el("message", { from = PUSH, to = ACCOUNT }, {
		el("pubsub", { xmlns = "http://jabber.org/protocol/pubsub" }, {
			el("affiliation", { node = NODE, affiliation = "none" }) }) })
	assert(h.ctx:app_message(ACCOUNT, disable) == true)
	assert(#h.removed == 1 and h.removed[1].reason == "remote" and h.removed[1].node == NODE)
	assert(h.ctx:has_push(ACCOUNT) == false)
	assert(h.ctx:counters().removed_remote == 1)
	local ok, _, code = h.ctx:app_message(ACCOUNT, "<message")
	assert(ok == nil and code == cn.ERR_XML)
	h.ctx:free()
end)

test("0.3: offline fetched clears the badge; session activity holds pushes back", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e", NODE)))
	s:free()
	assert(h.ctx:offline_fetched(ACCOUNT) == 0, "push_clear_on_fetch is off by default")
	assert(h.ctx:set_option("push_clear_on_fetch", true))
	assert(h.ctx:offline_fetched(ACCOUNT) == 1)
	local app = h.by_route("app")
	assert(app[1].xml:find("<field var='message-count'><value>0</value></field>", 1, true), app[1].xml)
	assert(h.ctx:set_option("push_grace_period", 60))
	local desk = assert(h.ctx:session(ACCOUNT, "desktop"))
	assert(desk:active() == true)
	assert(h.ctx:offline(ACCOUNT, message("m1")) == 0, "the desktop was active a moment ago")
	assert(h.ctx:counters().suppressed_grace == 1)
	h.clock = h.clock + 61000
	assert(h.ctx:offline(ACCOUNT, message("m2")) == 1, "the grace period is over")
	desk:free()
	raises(function() desk:active() end, "freed")
	h.ctx:free()
end)

test("0.3: removal reasons: the same client enabling again, remote, unknown", function()
	local h = recorder()
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq(enable_iq("e1", "n1")))
	assert(s:handle_iq(enable_iq("e2", "n2")))
	assert(#h.removed == 1 and h.removed[1].reason == "client_replaced" and h.removed[1].node == "n1",
		tostring(h.removed[1] and h.removed[1].reason))
	assert(h.ctx:counters().removed_client_replaced == 1)
	assert(h.ctx:app_message(ACCOUNT, app_disable(PUSH, "n2")) == true)
	assert(h.removed[2].reason == "remote")
	h.ctx:free()
end)

test("0.3: sender_known answers true, false, nil, or fails", function()
	local answer, asked = nil, {}
	local h = recorder{
		sender_known = function(account, sender)
			asked[#asked + 1] = account .. " " .. sender
			if answer == "error" then error("roster unavailable") end
			return answer
		end,
	}
	local s = assert(h.ctx:session(ACCOUNT, "phone"))
	assert(s:handle_iq("<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' jid='" .. PUSH .. "' node='" .. NODE
		.. "'><ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/></enable></iq>"))
	assert(h.by_route("client")[1].xml:find("type='result'"), h.by_route("client")[1].xml)
	s:free()
	answer = false
	assert(h.ctx:offline(ACCOUNT, message("m1")) == 0, "unknown sender")
	assert(asked[1] == ACCOUNT .. " romeo@montague.example", asked[1])
	answer = true
	assert(h.ctx:offline(ACCOUNT, message("m2")) == 1)
	answer = nil
	assert(h.ctx:offline(ACCOUNT, message("m3")) == 1, "cannot tell counts as known")
	answer = "error"
	assert(h.ctx:offline(ACCOUNT, message("m4")) == 1, "a failing callback cannot silence a contact")
	assert(h.logged("roster unavailable"))
	h.ctx:free()
end)

---------------------------------------------------------------------------

collectgarbage()
collectgarbage()
print(string.format("%d passed, %d failed", passed, failed))
-- close = true: lua_close runs every finalizer, so valgrind sees it all freed.
os.exit(failed == 0 and 0 or 1, true)
