-- mod_test_ping: helper module for tests/integration/run.py. NOT for production.
--
-- Loaded next to the push module under test (mod_cloud_notify or mod_cloudnotify).
-- It answers three IQs addressed to the VirtualHost itself, only for admins
-- (the `admins` option):
--
--   <iq type='set' to='localhost'>
--     <ping xmlns='urn:test:cloudnotify' user='alice'>
--       <service jid='push.localhost' node='n1'/>   (zero or more)
--     </ping>
--   </iq>
--     fires module:fire_event("cloud-notify-ping", { user = "alice", push_services = T })
--     where T is nil without <service/> children ("ping every endpoint of the user"),
--     otherwise a table keyed by the reference's identifier "jid<node" with values
--     { jid = ..., node = ... } (the shape mod_cloud_notify expects; mod_cloudnotify
--     accepts the same shape).
--
--   <iq type='get' to='localhost'><sessions xmlns='urn:test:cloudnotify' user='alice'/></iq>
--     lists the user's sessions: resource, hibernating, smacks, connected and the
--     timeout of the hibernation watchdog (mod_smacks 0.12 keeps it in
--     session.hibernating_watchdog; push modules replace it to extend hibernation;
--     0.12's watchdog is armed while it has last_reset, 13's while it has timer_id).
--
--   <iq type='get' to='localhost'><memory xmlns='urn:test:cloudnotify'/></iq>
--     runs two full Lua GC cycles and returns the Lua heap size in KiB.
--
--   <iq type='set' to='localhost'><load xmlns='urn:test:cloudnotify' module='cloud_notify'/></iq>
--     loads a module on the host (as the admin shell's module:load does);
--   <iq type='get' to='localhost'><modules xmlns='urn:test:cloudnotify'/></iq>
--     says which push modules are loaded: <modules cloud_notify='true' cloudnotify='false'/>.

local st = require "util.stanza";
local jid = require "util.jid";
-- The `admins` option itself: usermanager.is_admin is deprecated in
-- Prosody 13 (it logs a warning at every call).
local admins = module:get_option_set("admins", {});

local xmlns = "urn:test:cloudnotify";
local host_sessions = prosody.hosts[module.host].sessions;

local function refuse_non_admin(event)
	local stanza = event.stanza;
	if not admins:contains(jid.bare(stanza.attr.from)) then
		event.origin.send(st.error_reply(stanza, "auth", "forbidden", "admins only"));
		return true;
	end
	return false;
end

module:hook("iq-set/host/"..xmlns..":ping", function (event)
	if refuse_non_admin(event) then return true; end
	local origin, stanza = event.origin, event.stanza;
	local ping = stanza.tags[1];
	local user = ping.attr.user;
	if not user then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "user missing"));
		return true;
	end
	local services;
	for service in ping:childtags("service") do
		services = services or {};
		local node = service.attr.node;
		services[service.attr.jid.."<"..(node or "")] = { jid = service.attr.jid, node = node };
	end
	module:log("info", "test_ping: firing cloud-notify-ping for %s (%s)", user,
		services and "chosen endpoints" or "all endpoints");
	module:fire_event("cloud-notify-ping", { user = user, push_services = services });
	origin.send(st.reply(stanza));
	return true;
end);

module:hook("iq-get/host/"..xmlns..":sessions", function (event)
	if refuse_non_admin(event) then return true; end
	local origin, stanza = event.origin, event.stanza;
	local user = stanza.tags[1].attr.user;
	local reply = st.reply(stanza):tag("sessions", { xmlns = xmlns, user = user });
	local user_sessions = user and host_sessions[user];
	if user_sessions then
		for resource, session in pairs(user_sessions.sessions) do
			local watchdog = session.hibernating_watchdog;
			reply:tag("session", {
				resource = resource;
				hibernating = session.hibernating and "true" or "false";
				smacks = session.smacks and "true" or "false";
				connected = session.conn and "true" or "false";
				watchdog_timeout = watchdog and (watchdog.last_reset or watchdog.timer_id)
					and tostring(watchdog.timeout) or nil;
				push_identifier = type(session.push_identifier) == "string" and session.push_identifier or nil;
			}):up();
		end
	end
	origin.send(reply);
	return true;
end);

module:hook("iq-get/host/"..xmlns..":memory", function (event)
	if refuse_non_admin(event) then return true; end
	local origin, stanza = event.origin, event.stanza;
	collectgarbage("collect");
	collectgarbage("collect");
	origin.send(st.reply(stanza):tag("memory", {
		xmlns = xmlns;
		lua_kib = string.format("%.1f", collectgarbage("count"));
	}));
	return true;
end);

module:log("info", "test helper loaded (admins only: ping, sessions, memory)");

local modulemanager = require "core.modulemanager";

module:hook("iq-set/host/"..xmlns..":load", function (event)
	if refuse_non_admin(event) then return true; end
	local origin, stanza = event.origin, event.stanza;
	local ok, err = modulemanager.load(module.host, stanza.tags[1].attr.module);
	if not ok then
		origin.send(st.error_reply(stanza, "cancel", "undefined-condition", tostring(err)));
	else
		origin.send(st.reply(stanza));
	end
	return true;
end);

module:hook("iq-get/host/"..xmlns..":modules", function (event)
	if refuse_non_admin(event) then return true; end
	local origin, stanza = event.origin, event.stanza;
	local attr = { xmlns = xmlns };
	for _, name in ipairs { "cloud_notify", "cloudnotify" } do
		attr[name] = modulemanager.is_loaded(module.host, name) and "true" or "false";
	end
	origin.send(st.reply(stanza):tag("modules", attr));
	return true;
end);
