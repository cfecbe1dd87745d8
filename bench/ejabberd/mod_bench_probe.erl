%% mod_bench_probe: the memory probe of bench/ejabberd-push-cost.py, loaded
%% in every configuration.  <memory xmlns='urn:test:bench'/> (an IQ get to
%% the host) collects every process's garbage first, then answers with
%% erlang:memory/0's totals in bytes: what the VM keeps, without what the
%% collector would free anyway.
-module(mod_bench_probe).
-behaviour(gen_mod).
-export([start/2, stop/1, reload/3, depends/2, mod_options/1, mod_doc/0]).
-export([process_iq/1, decode_iq_subel/1]).

-include("xmpp.hrl").

-define(NS, <<"urn:test:bench">>).

start(Host, _Opts) ->
    gen_iq_handler:add_iq_handler(ejabberd_local, Host, ?NS, ?MODULE, process_iq),
    ok.

stop(Host) ->
    gen_iq_handler:remove_iq_handler(ejabberd_local, Host, ?NS).

reload(_, _, _) -> ok.
depends(_, _) -> [].
mod_options(_) -> [].
mod_doc() -> #{desc => ["bench memory probe"]}.

decode_iq_subel(El) -> El.

process_iq(#iq{type = get, sub_els = [#xmlel{name = <<"memory">>}]} = IQ) ->
    [erlang:garbage_collect(P) || P <- erlang:processes()],
    M = erlang:memory(),
    Attrs = [{atom_to_binary(K), integer_to_binary(V)}
             || {K, V} <- M, lists:member(K, [total, processes, system, ets, binary])],
    xmpp:make_iq_result(IQ, #xmlel{name = <<"memory">>, attrs = [{<<"xmlns">>, ?NS} | Attrs]});
process_iq(IQ) ->
    xmpp:make_error(IQ, xmpp:err_feature_not_implemented()).
