-- XEP-0357 push notifications for Prosody 0.12 and 13, with the engine in
-- libcloudnotify (C) reached through its Lua binding.  A drop-in for
-- prosody-modules' mod_cloud_notify: same option names, same events, and
-- the same storage (registrations it stored are read and kept in its
-- format, so an operator can switch back and forth).
--
-- Configuration beyond mod_cloud_notify's:
--   cloudnotify_cpath = "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"  -- where cloudnotify.so is
-- and the library's options by their names (bindings/lua/README.md lists
-- them all; docs/features.md explains the 0.3 ones and their defaults):
--   push_quiet = true              -- no push for chat states, receipts, markers, empty messages
--   push_call_max_age = 60         -- seconds: an older propose (delay stamp) does not ring
--   push_grace_period = 0          -- seconds: no push while another session was active (0: off)
--   push_visible_interval = 3000   -- ms: at most one visible push per registration per window
--   push_silent_per_hour = 3       -- silent pushes per registration and hour (0: no limit)
--   push_transient_errors = { "resource-constraint", "internal-server-error",
--       "remote-server-timeout", "service-unavailable", "recipient-unavailable" }
--                                  -- app-server errors that back off but never remove
--   push_backoff = 30              -- seconds of back-off after a transient error, doubling
--   push_registration_ttl = 0      -- days without a new enable before a registration goes (0: off)
--   push_clear_on_fetch = false    -- push message-count 0 when offline messages are fetched
--   push_tigase_extensions = true  -- accept and advertise Tigase's push extensions
--
-- Events the module hands the library (docs/features.md, "Prosody"):
--   resource-bind / -unbind            sessions (client identity: session.client_id, else the resource)
--   iq/self, iq/bare (push namespace)  enable / disable
--   smacks-hibernation-*, smacks-ack-delayed   the session's queue
--   message/offline/handle, archive-message-added, message/bare/groupchat   messages not delivered live
--   message/bare, message/full (priority 2)    a call delivered to a session; a remote disable
--                                              (XEP-0357 section 8) from the app server, then dropped
--   pre-message/* (priority 1)         the user sent a message or a chat state: session activity
--   message/offline/broadcast (priority 2)     the client fetched its offline messages
--   account-disco-info                 urn:xmpp:push:0 and the extensions the library accepts
--   iq/host, iq/bare (priority 10)     the app server's replies
--   cloud-notify-ping                  pushes on another module's request
-- and asks Prosody's roster (rostermanager) whether a sender is known, for
-- tigase:push:filter:ignore-unknown:0.

local st = require "util.stanza";
local jid = require "util.jid";
local xml = require "util.xml";
local watchdog = require "util.watchdog";
local rostermanager = require "core.rostermanager";
local modulemanager = require "core.modulemanager";

-- Beside mod_cloud_notify (prosody-modules' on 0.12, built into Prosody 13
-- and enabled by its default config) every message would be pushed twice.
-- The operator's config decides which one runs: this module refuses to
-- load, before it touches anything, and the other keeps pushing.
local other_push_module = "cloud_notify";
local function refusal()
	return ("mod_cloudnotify replaces mod_cloud_notify, which is enabled on %s: put \"%s\" in "
		.. "modules_disabled (Prosody 13 enables it by default) or take it out of modules_enabled; "
		.. "not loading, so that messages are not pushed twice"):format(module.host, other_push_module);
end
if modulemanager.is_loaded(module.host, other_push_module)
	or modulemanager.get_modules_for_host(module.host):contains(other_push_module) then
	error(refusal(), 0);
end

local cpath = module:get_option_string("cloudnotify_cpath");
if cpath and not package.cpath:find(cpath, 1, true) then
	package.cpath = cpath .. ";" .. package.cpath;
end
local cn = require "cloudnotify";

local xmlns_push = "urn:xmpp:push:0";
local host = module.host;

-- The reference module's store, so registrations survive a switch.
local store = module:open_store("cloud_notify");

-- Prosody session -> binding session, and back through s.data.
local by_session = setmetatable({}, { __mode = "k" });

local function prosody_session(s)
	return s and s.data;
end

local function account_of(username)
	return username .. "@" .. host;
end

---------------------------------------------------------------------------
-- The engine

local timer_handle;
local ctx;
-- False once the module is unloading: Prosody may still fire session
-- events while it shuts connections down.
local active = true;

local time_now = require "util.time".now;
local timer_due; -- when the armed timer fires, util.time seconds

-- The deadline moves at nearly every push (a publish starts waiting for
-- its reply, the reply ends it), and replacing Prosody's timer each time
-- costs more than the rest of the push.  A timer already armed to fire no
-- later than needed is kept, also when no timer is needed any more: firing
-- early is harmless, ctx:tick() runs nothing that is not due and reports
-- the real deadline again.
local function on_timer(timeout_ms)
	if timeout_ms < 0 then return; end
	local due = time_now() + timeout_ms / 1000;
	if timer_handle and timer_due <= due then return; end
	if timer_handle then timer_handle:stop(); end
	timer_due = due;
	timer_handle = module:add_timer(timeout_ms / 1000, function()
		timer_handle = nil;
		if active then ctx:tick(); end
	end);
end

-- Stanzas cross as util.stanza objects both ways: the library reads
-- Prosody's tables through the binding's tree adapter, and builds the
-- stanzas it emits straight into tables with Prosody's stanza metatable.
-- Nothing is serialised or parsed on the way.
local stanza_mt = st.stanza_mt;

local function on_send(route, s, account, to, stanza)
	if route == "client" then
		local session = prosody_session(s);
		if not session then return nil, "session gone"; end
		session.send(stanza);
	else
		module:send(stanza);
	end
	return true;
end

-- mod_smacks' watchdog is replaced by one with the library's timeout, as
-- mod_cloud_notify does.  util.watchdog calls its callback with the
-- watchdog that fired, and since Prosody 0.12.4 (so in 13) mod_smacks
-- releases the session only when that is the session's current watchdog:
-- the one that fired is handed over, never nothing (0.12.3's callback
-- ignores it).
local function on_hibernation_timeout(s, seconds)
	local session = prosody_session(s);
	if not session or not session.hibernating_watchdog then return; end
	if seconds >= 0 then
		session.original_smacks_callback = session.original_smacks_callback or session.hibernating_watchdog.callback;
		session.original_smacks_timeout = session.original_smacks_timeout or session.hibernating_watchdog.timeout;
		session.hibernating_watchdog:cancel();
		session.hibernating_watchdog = watchdog.new(seconds, function(fired)
			session.log("debug", "Push-extended smacks watchdog triggered");
			if session.original_smacks_callback then session.original_smacks_callback(fired); end
		end);
	elseif session.original_smacks_callback and session.original_smacks_timeout then
		session.hibernating_watchdog:cancel();
		session.hibernating_watchdog = watchdog.new(session.original_smacks_timeout, session.original_smacks_callback);
	end
end

local levels = { debug = "debug", info = "info", warn = "warn", error = "error" };

-- tigase:push:filter:ignore-unknown:0 asks whether the sender is in the
-- account's roster with a subscription either way.  The roster of an
-- account with a session is in memory; any other comes from Prosody's
-- roster cache or storage (rostermanager caches it).  A roster that cannot
-- be read answers nil, "cannot tell", which the library takes as known:
-- a storage fault must not silence the user's contacts.
local known_subscriptions = { to = true, from = true, both = true };
local function on_sender_known(account, sender)
	local username = jid.split(account);
	if not username then return nil; end
	local roster, err = rostermanager.load_roster(username, host);
	if not roster or err then return nil; end
	local item = roster[sender];
	return item ~= nil and known_subscriptions[item.subscription] == true;
end

ctx = cn.new {
	send = on_send;
	stanza_mt = stanza_mt;
	timer = on_timer;
	hibernation_timeout = on_hibernation_timeout;
	sender_known = on_sender_known;
	log = function(level, msg) module:log(levels[level] or "info", "%s", msg); end;
	removed = function(account, push_jid, node, reason, error_type, error_condition)
		module:log("info", "Push registration %s<%s of %s removed (%s%s)", push_jid, node or "", account, reason,
			error_type and (": " .. error_type .. "/" .. (error_condition or "?")) or "");
	end;
	registration_filter = function(s, account, push_jid, node)
		local session = prosody_session(s);
		local allowed = module:fire_event("cloud_notify/registration", {
			origin = session, push_info = { jid = push_jid, node = node },
		});
		if allowed == false then return "cancel", "not-allowed"; end
	end;
	-- Modules written for mod_cloud_notify veto pushes through this event.
	-- Without a handler the event would change nothing: its tables are not
	-- built (most servers have none, and this runs at every push).
	notification_filter = function(push)
		if not (prosody.hosts[host] or prosody).events.get_handlers("cloud_notify/push") then return; end
		local username = jid.split(push.account);
		local event = {
			username = username; important = push.important;
			push_info = { jid = push.jid, node = push.node };
			push_summary = { ["last-message-body"] = push.body, ["last-message-sender"] = push.sender };
		};
		if module:fire_event("cloud_notify/push", event) then
			module:log("debug", "Push was blocked by event handler: %s", event.reason or "Unknown reason");
			return true;
		end
	end;
};

local options = {
	push_notification_with_body = "boolean", push_notification_with_sender = "boolean",
	push_notification_important_body = "string", push_max_errors = "number",
	push_max_devices = "number", push_max_hibernation_timeout = "number",
	smacks_max_ack_delay = "number", push_coalesce_ms = "number",
	push_max_outstanding = "number", push_publish_timeout = "number",
	push_max_cached_users = "number", push_wake_before_expiry = "number",
	push_id_prefix = "string", push_log_level = "string",
	push_publish_from_bare = "boolean",
	-- 0.3, what phones need (docs/features.md)
	push_quiet = "boolean", push_call_max_age = "number", push_grace_period = "number",
	push_visible_interval = "number", push_silent_per_hour = "number",
	push_transient_errors = "list", push_backoff = "number", push_registration_ttl = "number",
	push_clear_on_fetch = "boolean", push_tigase_extensions = "boolean",
};
for name, kind in pairs(options) do
	local value;
	if kind == "boolean" then value = module:get_option_boolean(name);
	elseif kind == "number" then value = module:get_option_number(name);
	elseif kind == "list" then
		-- A Lua list of conditions, as Prosody's list options are written,
		-- or the library's comma-separated text; {} (or "") is "none".
		value = module:get_option_array(name);
		if value then value = table.concat(value, ","); end
	else value = module:get_option_string(name); end
	if value ~= nil then
		local ok, err = ctx:set_option(name, value);
		if not ok then module:log("error", "Option %s: %s", name, err); end
	end
end

-- Without push_log_level in the config the library's threshold follows
-- Prosody's logging: a level no sink listens to is then never formatted
-- (the "push sent" debug line would otherwise be built at every push only
-- for Prosody to drop it).  util.logger has no getter for its sinks, so
-- its table is read through the upvalue of make_logger; when it cannot be
-- found, nothing changes.  Re-read whenever Prosody reloads its logging.
local function follow_prosody_log_level()
	if module:get_option_string("push_log_level") then return; end
	local make_logger = require "util.logger".make_logger;
	for i = 1, 64 do
		local name, level_sinks = debug.getupvalue(make_logger, i);
		if not name then return; end
		if name == "level_sinks" and type(level_sinks) == "table" then
			for _, level in ipairs { "debug", "info", "warn", "error" } do
				local sinks = level_sinks[level];
				if type(sinks) == "table" and #sinks > 0 then
					ctx:set_option("push_log_level", level);
					return;
				end
			end
			ctx:set_option("push_log_level", "none");
			return;
		end
	end
end
follow_prosody_log_level();
module:hook_global("logging-reloaded", follow_prosody_log_level);

---------------------------------------------------------------------------
-- Storage: the reference's format, one table per user keyed "jid<node"

local function key_of(push_jid, node) return push_jid .. "<" .. (node or ""); end

ctx:set_store {
	load = function(account)
		local username = jid.split(account);
		local data, err = store:get(username);
		if not data then
			if err then return nil, err; end
			return {};
		end
		local records = {};
		for _, reg in pairs(data) do
			if type(reg) == "table" and type(reg.jid) == "string" then
				local form;
				if type(reg.options) == "table" then
					local ok, deserialized = pcall(st.deserialize, reg.options);
					if ok and deserialized then form = tostring(deserialized); end
				end
				-- Rows written by mod_cloud_notify have neither field.
				local errors = math.tointeger(reg.errors);
				if errors and (errors < 0 or errors > 0xffffffff) then errors = nil; end
				records[#records + 1] = {
					jid = reg.jid; node = reg.node; publish_options = form;
					enabled_at = tonumber(reg.enabled_at_ms) or (tonumber(reg.timestamp) or 0) * 1000;
					errors = errors;
					client_id = type(reg.client_id) == "string" and reg.client_id or nil;
				};
			end
		end
		return records;
	end;
	save = function(account, rec)
		local username = jid.split(account);
		local data, err = store:get(username);
		if not data and err then return nil, err; end
		data = data or {};
		local options;
		if rec.publish_options then
			local form = xml.parse(rec.publish_options);
			options = form and st.preserialize(form);
		end
		data[key_of(rec.jid, rec.node)] = {
			jid = rec.jid; node = rec.node; options = options;
			timestamp = math.floor(rec.enabled_at / 1000); enabled_at_ms = rec.enabled_at;
			errors = rec.errors ~= 0 and rec.errors or nil; client_id = rec.client_id;
		};
		return store:set(username, data);
	end;
	-- Error counts survive restarts and reach the other nodes sharing the
	-- storage; mod_cloud_notify ignores the extra field.
	set_errors = function(account, push_jid, node, errors)
		local username = jid.split(account);
		local data, err = store:get(username);
		if not data then
			if err then return nil, err; end
			return true;
		end
		local row = data[key_of(push_jid, node)];
		if type(row) ~= "table" then return true; end
		row.errors = errors ~= 0 and errors or nil;
		return store:set(username, data);
	end;
	remove = function(account, push_jid, node)
		local username = jid.split(account);
		local data, err = store:get(username);
		if not data then
			if err then return nil, err; end
			return true;
		end
		data[key_of(push_jid, node)] = nil;
		return store:set(username, next(data) and data or nil);
	end;
};

---------------------------------------------------------------------------
-- Sessions

local function session_for(session, create)
	if not active or not session then return nil; end
	local s = by_session[session];
	if s or not create or not session.username or not session.resource then return s; end
	local err;
	s, err = ctx:session(account_of(session.username), session.resource);
	if not s then
		module:log("warn", "Cannot track session %s: %s", tostring(session.full_jid), tostring(err));
		return nil;
	end
	s.data = session;
	by_session[session] = s;
	-- The client's identity, so that a registration follows the client
	-- from session to session: the SASL2 client id (XEP-0388's
	-- <user-agent id=...>, which mod_sasl2 from prosody-modules keeps in
	-- session.client_id; Prosody 13 itself sets none), else the library
	-- uses the resource, which clients keep from session to session.
	if type(session.client_id) == "string" then
		local ok, cerr = s:set_client_id(session.client_id);
		if not ok then module:log("debug", "Client id of %s not used: %s", tostring(session.full_jid), tostring(cerr)); end
	end
	return s;
end

local function forget_session(session)
	local s = by_session[session];
	if s then
		by_session[session] = nil;
		s:free();
	end
end

module:hook("resource-bind", function(event) session_for(event.session, true); end);
module:hook("resource-unbind", function(event) forget_session(event.session); end);

-- Every IQ with a child in the push namespace from a local client,
-- whatever the child, its position and the 'to': the library answers
-- unknown elements (feature-not-implemented), IQs for another account
-- (forbidden) and IQs with several children (bad-request, in either
-- order) itself, so they are taken before mod_iq turns them into
-- service-unavailable.
local function push_iq(event)
	local origin, stanza = event.origin, event.stanza;
	if not stanza:get_child(nil, xmlns_push) then return; end
	if origin.type ~= "c2s" or origin.host ~= host or not origin.username then return; end
	local s = session_for(origin, true);
	if not s then
		origin.send(st.error_reply(stanza, "wait", "internal-server-error"));
		return true;
	end
	local ok, err = s:handle_iq(stanza);
	if not ok then
		module:log("debug", "Push IQ not handled: %s", tostring(err));
		return nil;
	end
	return true;
end
module:hook("iq/self", push_iq, 10);
module:hook("iq/bare", push_iq, 10);

-- urn:xmpp:push:0 and the extensions a client may ask for in its enable
-- (Tigase's, per push_tigase_extensions): fixed once the options are set.
local disco_features = ctx:disco_features() or { xmlns_push };
module:hook("account-disco-info", function(event)
	local reply = event.reply or event.stanza;
	for i = 1, #disco_features do
		reply:tag("feature", { var = disco_features[i] }):up();
	end
end);

-- The queue as an array without holes.
local function queue_stanzas(queue)
	local stanzas = {};
	if queue then
		for i = 1, #queue do
			if queue[i] then stanzas[#stanzas + 1] = queue[i]; end
		end
	end
	return stanzas;
end

-- Prosody 0.12's mod_smacks fires no event when stream management is
-- enabled; its own events prove it is, and the library refuses
-- hibernation and ack handling before it is told (sm_enabled is
-- idempotent).
local function sm_session(session)
	local s = session_for(session, false);
	if s and session.smacks then s:sm_enabled(); end
	return s;
end

module:hook("smacks-hibernation-start", function(event)
	local s = sm_session(event.origin);
	if s then s:hibernated(queue_stanzas(event.queue)); end
end);

module:hook("smacks-hibernation-stanza-queued", function(event)
	local s = session_for(event.origin, false);
	-- Without a bound registration the stanza would only be counted.
	if s and s:has_push() then s:queued(event.stanza); end
end);

module:hook("smacks-hibernation-end", function(event)
	local s = session_for(event.resumed, false);
	if s then s:resumed(); end
	if event.resumed then
		event.resumed.original_smacks_callback = nil;
		event.resumed.original_smacks_timeout = nil;
	end
end);

module:hook("smacks-ack-delayed", function(event)
	local s = sm_session(event.origin);
	if not s then return; end
	if event.stanza then
		s:ack_delayed({ event.stanza });
	else
		s:ack_delayed(queue_stanzas(event.queue));
	end
end);

---------------------------------------------------------------------------
-- Message triggers

-- Messages come in runs to the same recipient, and jid.split is three
-- pattern matches: the last address and its account are kept.
local last_to, last_username, last_account;

local function username_of(event)
	local to = event.stanza.attr.to;
	if to and to == last_to then return last_username; end
	local username = to and jid.split(to);
	if username then
		last_to, last_username, last_account = to, username, account_of(username);
		return username;
	end
	return (event.origin and event.origin.username) or event.username;
end

local function cached_account_of(username)
	if username == last_username then return last_account; end
	return account_of(username);
end

module:hook("message/offline/handle", function(event)
	if not active then return; end
	local username = username_of(event);
	if not username then return; end
	local account = cached_account_of(username);
	if ctx:has_push(account) then
		ctx:offline(account, event.stanza);
	end
end, 1);

module:hook("message/bare/groupchat", function(event)
	if not active then return; end
	local username = username_of(event);
	if not username then return; end
	local account = cached_account_of(username);
	if ctx:has_push(account) then
		ctx:groupchat_bare(account, event.stanza);
	end
end, 1);

module:hook("archive-message-added", function(event)
	if not active then return; end
	-- Only messages addressed to the archive's owner: the same hook fires
	-- for the copies of what the user sent.
	local for_user = event.for_user;
	if not for_user or username_of(event) ~= for_user then return; end
	local account = cached_account_of(for_user);
	if ctx:has_push(account) then
		ctx:archived(account, event.stanza, event.id);
	end
end);

-- Every message goes through the hooks below, so they look at the
-- children's names first and call nothing for a message without a
-- Jingle Message propose or a pubsub child.
local xmlns_jmi0, xmlns_jmi1 = "urn:xmpp:jingle-message:0", "urn:xmpp:jingle-message:1";
local xmlns_pubsub, xmlns_pubsub_event = "http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/pubsub#event";
local PROPOSE, PUBSUB = 1, 2;

local function interesting_child(stanza)
	local tags = stanza.tags;
	for i = 1, #tags do
		local name = tags[i].name;
		if name == "propose" then
			local ns = tags[i].attr.xmlns;
			if ns == xmlns_jmi0 or ns == xmlns_jmi1 then return PROPOSE; end
		elseif name == "pubsub" then
			local ns = tags[i].attr.xmlns;
			if ns == xmlns_pubsub or ns == xmlns_pubsub_event then return PUBSUB; end
		end
	end
end

-- A call (JMI propose) that mod_message hands to the account's sessions:
-- the library pushes it at once to every registration not bound to a
-- connected session (the phone in the pocket while the desktop is on).
-- The same propose reaching the library again through the archive, the
-- offline store or a hibernated session's queue is pushed once: the
-- library knows a call by its sender and propose id.
local function call_delivered(event, username)
	local account = cached_account_of(username);
	if not prosody.bare_sessions[account] or not ctx:has_push(account) then return; end
	local _, err = ctx:delivered(account, event.stanza);
	if err then module:log("debug", "Call not pushed: %s", err); end
end

-- XEP-0357 section 8: the app server says a node's affiliation is 'none'.
-- The library removes the registration when the message comes from that
-- registration's own push service; the message is then dropped.  From
-- anyone else it changes nothing and is delivered as usual.
local function app_message(event, username)
	local account = cached_account_of(username);
	if not ctx:has_push(account) then return; end
	local consumed, err = ctx:app_message(account, event.stanza);
	if consumed then return true; end
	if err then module:log("debug", "Message with a pubsub child not taken as a remote disable: %s", err); end
end

-- Before mod_message (priority 0) delivers or stores the message.
module:hook("message/bare", function(event)
	if not active then return; end
	local stanza = event.stanza;
	if stanza.attr.type == "error" then return; end
	local kind = interesting_child(stanza);
	if not kind then return; end
	local username = username_of(event);
	if not username then return; end
	if kind == PUBSUB then return app_message(event, username); end
	return call_delivered(event, username);
end, 2);

module:hook("message/full", function(event)
	if not active then return; end
	local stanza = event.stanza;
	if stanza.attr.type == "error" or interesting_child(stanza) ~= PROPOSE then return; end
	local username = username_of(event);
	if username then call_delivered(event, username); end
end, 2);

-- The user is at a client: a message or a chat state sent from one of
-- the account's sessions (a receipt or marker a phone sends on its own in
-- the background does not count).  Starts push_grace_period for the
-- account's other devices and resets this device's message count.
local xmlns_chatstates = "http://jabber.org/protocol/chatstates";
local function sent_by_user(event)
	local origin = event.origin;
	local s = by_session[origin];
	if not s or not active then return; end
	local stanza = event.stanza;
	if stanza:get_child("body") or stanza:get_child(nil, xmlns_chatstates) then
		s:active();
	end
end
module:hook("pre-message/bare", sent_by_user, 1);
module:hook("pre-message/full", sent_by_user, 1);
module:hook("pre-message/host", sent_by_user, 1);

-- The client came online (initial presence with a non-negative priority)
-- and got its offline messages: mod_offline's broadcast, on 0.12 and 13
-- alike (on 13 mod_mam cancels the broadcast for a client that has
-- queried its archive first, which fetched the same messages).  Resets
-- the message counts; with push_clear_on_fetch the other devices get a
-- push with message-count 0 to clear their badge.  Runs before both.
module:hook("message/offline/broadcast", function(event)
	if not active then return; end
	local origin = event.origin;
	if not origin or not origin.username then return; end
	local account = account_of(origin.username);
	if ctx:has_push(account) then ctx:offline_fetched(account); end
end, 2);

module:hook("cloud-notify-ping", function(event)
	if not active then return; end
	if not event.user then return; end
	local endpoints;
	if event.push_services then
		endpoints = {};
		for _, info in pairs(event.push_services) do
			if type(info) == "table" and info.jid then
				endpoints[#endpoints + 1] = { jid = info.jid, node = info.node };
			end
		end
	end
	ctx:ping(account_of(event.user), endpoints);
end);

---------------------------------------------------------------------------
-- App-server replies come back to the host; only ids the library is still
-- waiting for are handed over (as the stanza table itself), every other IQ
-- reply is passed on at the cost of one table lookup.  A reply to our id
-- from a foreign sender is a spoof: dropped here.

-- A result says nothing but its id, sender and type: those go over as
-- fields, in one table kept for it, so the library converts no tree and
-- the push allocates nothing here.  Errors go whole (the library reads
-- the error's type and condition).
local result_fields = { type = "result" };

local function app_reply(event)
	local stanza = event.stanza;
	local attr = stanza.attr;
	local t, id = attr.type, attr.id;
	if not active or (t ~= "result" and t ~= "error") or not id or not ctx:is_outstanding(id) then return; end
	local ok, _, code;
	if t == "result" and attr.from then
		result_fields.id, result_fields.from = id, attr.from;
		ok, _, code = ctx:app_reply_fields(result_fields);
		result_fields.id, result_fields.from = nil, nil;
	else
		ok, _, code = ctx:app_reply(stanza);
	end
	if ok or code == cn.ERR_FOREIGN_SENDER then return true; end
end
module:hook("iq/host", app_reply, 10);
-- Publishing from the account's bare JID: the app server answers there.
-- Hooked whatever the option says now, so that replies to publishes sent
-- before a reload that changed it still reach the library.
module:hook("iq/bare", app_reply, 10);

---------------------------------------------------------------------------

-- Sessions that were bound before the module loaded.
for _, user in pairs(prosody.hosts[host] and prosody.hosts[host].sessions or {}) do
	for _, session in pairs(user.sessions or {}) do session_for(session, true); end
end

-- mod_cloud_notify loaded later (from the admin shell): this module steps
-- aside rather than let both push.
module:hook("module-loaded", function(event)
	if event.module ~= other_push_module then return; end
	module:log("error", "%s", (refusal():gsub("not loading", "unloading")));
	modulemanager.unload(host, module.name);
end);

function module.unload()
	active = false;
	if timer_handle then timer_handle:stop(); timer_handle = nil; end
	for session in pairs(by_session) do forget_session(session); end
	ctx:free();
end

module:log("info", "Push notifications through libcloudnotify %s", cn.version);

---------------------------------------------------------------------------
-- Metrics and diagnosis (docs/features.md, "Metrics and diagnosis").

-- The library's counters and gauges through Prosody's statistics, read at
-- each collection ("stats-update"), so the push path pays nothing for
-- them.  module:metric names them prosody_mod_cloudnotify/<name>, which
-- mod_http_openmetrics exposes as prosody_mod_cloudnotify__<name>
-- (counters with _total), with the host as label.  With statistics off,
-- Prosody hands out inert metrics and this costs one empty hook.
local diag_gauges = { outstanding = true, cached_accounts = true, sessions = true };
local diag_metrics = {};
for name in pairs(ctx:counters()) do
	local kind = diag_gauges[name] and "gauge" or "counter";
	diag_metrics[name] = module:metric(kind, name, "",
		"libcloudnotify " .. kind .. " " .. name, {}):with_labels();
end
module:hook_global("stats-update", function()
	if not active then return; end
	for name, value in pairs(ctx:counters()) do
		local m = diag_metrics[name];
		if m then m:set(value); end
	end
end);

-- XEP-0050 command "Explain push registrations": a user for their own
-- account, an administrator of this host for any account.  Prosody's
-- ad-hoc commands answer each request at once, so the app server's answer
-- to the test push is shown by a later stage:
--   1. execute: a form (account, "send a test push");
--   2. submit: the registrations with their last outcome and error count;
--      with the test asked for, the test push goes out and the command
--      stays open ("executing") with a note saying so;
--   3. complete: the registrations again, now with the test's answer (or
--      "no answer yet"), and the command completes.
local dataforms_new = require "util.dataforms".new;
local adhoc_new = module:require "adhoc".new;
local diag_node = "urn:xmpp:cloudnotify:explain";

local diag_form = dataforms_new {
	title = "Explain push registrations";
	instructions = "Lists the push registrations of an account with what the app server last answered, "
		.. "and can send a test push (it passes quiet rules, rate limits and back-off).";
	{ name = "FORM_TYPE"; type = "hidden"; value = diag_node };
	{ name = "account"; type = "jid-single"; label = "Account" };
	{ name = "test"; type = "boolean"; label = "Send a test push now"; value = false };
};
local diag_result = dataforms_new {
	title = "Push registrations";
	{ name = "FORM_TYPE"; type = "hidden"; value = diag_node };
	{ name = "account"; type = "jid-single"; label = "Account" };
	{ name = "registrations"; type = "text-multi"; label = "Registrations" };
};

-- Administrators: Prosody 13's roles when it has them, else 0.12's
-- is_admin (JID-based, which is all 0.12 has).
local diag_is_admin;
if module.may and module.default_permission then
	module:default_permission("prosody:admin", ":explain-any-account");
	diag_is_admin = function(from) return module:may(":explain-any-account", from); end
else
	local um_is_admin = require "core.usermanager".is_admin;
	diag_is_admin = function(from) return um_is_admin(from, host); end
end

local function diag_time(ms)
	if not ms or ms == 0 then return "-"; end
	return os.date("!%Y-%m-%dT%H:%M:%SZ", ms // 1000);
end

-- One line per registration; the app server's text is quoted as text.
local function diag_lines(account)
	local regs, err = ctx:diag_registrations(account);
	if not regs then return nil, err; end
	local lines = {};
	for _, r in ipairs(regs) do
		local last = "none yet";
		if r.last_outcome then
			last = r.last_outcome;
			if r.last_error_condition or r.last_error_type then
				last = last .. " " .. (r.last_error_type or "?") .. "/" .. (r.last_error_condition or "?");
			end
			if r.last_error_text then last = last .. " \"" .. r.last_error_text .. "\""; end
			last = last .. (r.last_test and " (test push)" or "") .. " at " .. diag_time(r.last_at);
		end
		local line = ("%s node=%s client=%s enabled=%s errors=%d last=%s"):format(r.jid, r.node or "-",
			r.client_id or "-", diag_time(r.enabled_at), r.errors, last);
		if r.backoff_left_ms > 0 then
			line = line .. (" backoff=%ds held=%d"):format(r.backoff_left_ms // 1000, r.backoff_held);
		end
		if r.outstanding > 0 then line = line .. (" awaiting=%d"):format(r.outstanding); end
		if r.extensions ~= "" then line = line .. " extensions=" .. r.extensions:gsub(" ", ","); end
		if r.encrypted then line = line .. " encrypted"; end
		lines[#lines + 1] = line;
	end
	if #lines == 0 then lines[1] = "no push registration"; end
	return table.concat(lines, "\n");
end

local function diag_listing(account, status, note, state)
	local text, err = diag_lines(account);
	if not text then
		return { status = "error", error = { type = "wait", condition = "internal-server-error",
			message = "Cannot list the registrations: " .. tostring(err) } };
	end
	local data = { status = status, info = note,
		result = { layout = diag_result, values = { account = account, registrations = text } } };
	if status == "executing" then data.actions = { "complete", default = "complete" }; end
	return data, state;
end

local function diag_handler(_, data, state)
	local requester = jid.bare(data.from);
	if data.action == "cancel" then return { status = "canceled" }; end
	if not state then
		return { status = "executing", actions = { "complete", default = "complete" },
			form = { layout = diag_form, values = { account = requester, test = false } } }, "form";
	end
	if type(state) == "table" then
		-- Stage 3: whatever the app server answered by now is in the listing.
		return diag_listing(state.account, "completed", state.note);
	end
	local fields = data.form and diag_form:data(data.form) or {};
	local account = fields.account and jid.bare(fields.account) or requester;
	if account ~= requester and not diag_is_admin(data.from) then
		return { status = "error", error = { type = "auth", condition = "forbidden",
			message = "Only an administrator may explain another account" } };
	end
	if jid.host(account) ~= host then
		return { status = "error", error = { type = "modify", condition = "bad-request",
			message = "The account is not on this host" } };
	end
	if not fields.test then return diag_listing(account, "completed"); end
	local pushes, id_or_err = ctx:diag_test_push(account);
	local note;
	if pushes then
		note = ("Test push sent to %d registration(s) (first id %s); complete the command to see the "
			.. "app server's answer."):format(pushes, id_or_err);
		module:log("info", "Test push for %s requested by %s: %d sent", account, requester, pushes);
	else
		note = "No test push sent: " .. tostring(id_or_err);
	end
	return diag_listing(account, pushes and "executing" or "completed", note,
		pushes and { account = account, note = note } or nil);
end

module:depends("adhoc");
module:provides("adhoc", adhoc_new("Explain push registrations", diag_node, diag_handler, "local_user"));
