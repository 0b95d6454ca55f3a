// SPDX-License-Identifier: Apache-2.0
/* test_net_portspec.c - unit tests for the -p parser of net/portspec.c */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net.h"

/* Parse @spec, expect success and the canonical text @want. */
static void expect_ok(const char *spec, const char *want)
{
	struct hutch_err err = { 0 };
	struct net_port_spec p;
	char buf[128];

	if (net_portspec_parse(spec, &p, &err) != 0)
		fail_msg("'%s' rejected: %s", spec, err.msg);
	net_portspec_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* Parse @spec, expect -EINVAL and a message containing @frag. */
static void expect_bad(const char *spec, const char *frag)
{
	struct hutch_err err = { 0 };
	struct net_port_spec p;

	assert_int_equal(net_portspec_parse(spec, &p, &err), -EINVAL);
	if (!strstr(err.msg, frag))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, frag);
	assert_null(strchr(err.msg, '\n'));
}

static void single_ports(void **state)
{
	(void)state;
	expect_ok("80", "127.0.0.1:*->80/tcp");
	expect_ok("8080:80", "127.0.0.1:8080->80/tcp");
	expect_ok("8080:80/tcp", "127.0.0.1:8080->80/tcp");
	expect_ok("5353:53/udp", "127.0.0.1:5353->53/udp");
	expect_ok("65535:1", "127.0.0.1:65535->1/tcp");
}

static void host_addresses(void **state)
{
	(void)state;
	expect_ok("0.0.0.0:8080:80", "0.0.0.0:8080->80/tcp");
	expect_ok("192.0.2.7:8080:80/udp", "192.0.2.7:8080->80/udp");
	expect_ok("127.0.0.1::80", "127.0.0.1:*->80/tcp");
	expect_ok("[::1]:8080:80", "[::1]:8080->80/tcp");
	expect_ok("[::]:8080:80/udp", "[::]:8080->80/udp");
	expect_ok("[fd00::5]::80", "[fd00::5]:*->80/tcp");
}

static void ranges(void **state)
{
	struct net_port_spec p;

	(void)state;
	expect_ok("8000-8010:8000-8010", "127.0.0.1:8000-8010->8000-8010/tcp");
	expect_ok("9000-9002:7000-7002/udp",
		  "127.0.0.1:9000-9002->7000-7002/udp");
	expect_ok("8000-8001", "127.0.0.1:*->8000-8001/tcp");
	expect_ok("8000-8010:80", "127.0.0.1:8000-8010->80/tcp");
	expect_ok("7:7-7", "127.0.0.1:7->7/tcp");
	assert_int_equal(net_portspec_parse("8000-8010:8000-8010", &p, NULL),
			 0);
	assert_int_equal(net_portspec_count(&p), 11);
	assert_int_equal(net_portspec_parse("8000-8010:80", &p, NULL), 0);
	assert_int_equal(net_portspec_count(&p), 1);
	assert_int_equal(net_portspec_parse("8000-8003", &p, NULL), 0);
	assert_int_equal(net_portspec_count(&p), 4);
}

static void fields(void **state)
{
	struct net_port_spec p;

	(void)state;
	assert_int_equal(
		net_portspec_parse("[::1]:8080-8081:80-81/udp", &p, NULL), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.host_first, 8080);
	assert_int_equal(p.host_last, 8081);
	assert_int_equal(p.ctr_first, 80);
	assert_int_equal(p.ctr_last, 81);
	assert_true(IN6_IS_ADDR_LOOPBACK(&p.addr.v6));
	assert_int_equal(net_portspec_parse("80", &p, NULL), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.addr.v4.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(p.proto, IPPROTO_TCP);
}

static void bad_ports(void **state)
{
	(void)state;
	expect_bad("", "invalid -p ''");
	expect_bad("0", "container port '0' is not a port");
	expect_bad("65536", "container port '65536' is not a port");
	expect_bad("http", "container port 'http' is not a port");
	expect_bad("8080:", "container port '' is not a port");
	expect_bad(":80", "host port '' is not a port");
	expect_bad("x:80", "host port 'x' is not a port");
	expect_bad("-1:80", "host port '-1' is not a port");
	expect_bad("80-70", "container port '80-70' is not a port");
	expect_bad("8080:80-", "container port '80-'");
	expect_bad("99999999999999999999:80", "host port");
	expect_bad("8000-8002:80-81",
		   "host range has 3 ports and the container range 2");
}

static void bad_addresses_and_protocols(void **state)
{
	(void)state;
	expect_bad("80/sctp", "unsupported protocol 'sctp'");
	expect_bad("80/TCP", "unsupported protocol 'TCP'");
	expect_bad("80/", "unsupported protocol ''");
	expect_bad("localhost:8080:80", "host address 'localhost'");
	expect_bad("1.2.3:8080:80", "host address '1.2.3'");
	expect_bad("::1:8080:80", "put an IPv6 host address in brackets");
	expect_bad("[::1:8080:80", "expected [IPV6]:HOSTPORT:CONTAINERPORT");
	expect_bad("[::1]8080:80", "expected [IPV6]:HOSTPORT:CONTAINERPORT");
	expect_bad("[::1]:80", "after the host address");
	expect_bad("[1.2.3.4]:8080:80", "host address '[1.2.3.4]'");
	expect_bad("[zz::1]:8080:80", "host address '[zz::1]'");
	expect_bad("127.0.0.1:x:80", "host port 'x'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_ports),
		cmocka_unit_test(host_addresses),
		cmocka_unit_test(ranges),
		cmocka_unit_test(fields),
		cmocka_unit_test(bad_ports),
		cmocka_unit_test(bad_addresses_and_protocols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
