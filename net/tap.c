// SPDX-License-Identifier: Apache-2.0
/* tap.c - create the tap device in the container's netns and configure it
 * with libnl-3's route API: lo up, the tap's MTU, 10.0.2.100/24 and
 * fd00::100/64, default routes via 10.0.2.2 and fd00::2.
 *
 * The kernel creates tun/tap devices only through TUNSETIFF on
 * /dev/net/tun (its rtnetlink "tun" kind refuses newlink), and the open
 * descriptor is the device's data path, so creation is one ioctl; every
 * setting after it goes over rtnetlink with libnl rather than by running
 * ip(8), which the container's namespace need not even have.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "net/net-internal.h"

/* libnl's own error codes are negative NLE_*; keep the text, map to an
 * errno that says roughly the same. */
static int nl_fail(struct hutch_err *err, int nlerr, const char *what,
		   const char *name)
{
	int e = (nlerr == -NLE_PERM) ? EPERM : EIO;

	return cmn_err_msg(err, e, "%s %s: %s", what, name, nl_geterror(nlerr));
}

/* Open /dev/net/tun and attach a new tap device named @name to it. */
static int tap_create(const char *name, struct hutch_err *err)
{
	struct ifreq ifr;
	cleanup_close int fd =
		open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int ret = cmn_err_set(err, errno, "cannot open /dev/net/tun");

		cmn_err_fix(
			err,
			"the tun device must exist and be usable by every user (mode 0666, as distributions ship it)");
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return cmn_err_set(err, errno, "cannot create tap device %s",
				   name);
	return steal_fd(&fd);
}

/* Set @name's MTU (0: leave it) and bring it up. */
static int link_up(struct nl_sock *sk, const char *name, unsigned int mtu,
		   struct hutch_err *err)
{
	struct rtnl_link *link = NULL, *change;
	int ret;

	ret = rtnl_link_get_kernel(sk, 0, name, &link);
	if (ret < 0)
		return nl_fail(err, ret, "cannot find link", name);
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(link);
		return cmn_err_set(err, ENOMEM, "cannot configure %s", name);
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	ret = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (ret < 0)
		return nl_fail(err, ret, "cannot bring up", name);
	return 0;
}

/* Add @cidr ("10.0.2.100/24") to the interface @ifindex. */
static int addr_add(struct nl_sock *sk, int ifindex, int family,
		    const char *cidr, struct hutch_err *err)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int ret;

	if (!addr)
		return cmn_err_set(err, ENOMEM, "cannot add address %s", cidr);
	ret = nl_addr_parse(cidr, family, &local);
	if (ret == 0) {
		rtnl_addr_set_ifindex(addr, ifindex);
		rtnl_addr_set_local(addr, local);
		/* No duplicate address detection: the link has one peer,
		 * libslirp, and DAD would keep the address tentative (and
		 * unusable) for a second after the command starts. */
		if (family == AF_INET6)
			rtnl_addr_set_flags(addr, IFA_F_NODAD);
		ret = rtnl_addr_add(sk, addr, 0);
		nl_addr_put(local);
	}
	rtnl_addr_put(addr);
	if (ret < 0)
		return nl_fail(err, ret, "cannot add address", cidr);
	return 0;
}

/* Add a default route of @family via @gateway on @ifindex. */
static int route_add_default(struct nl_sock *sk, int ifindex, int family,
			     const char *gateway, struct hutch_err *err)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL, *gw = NULL;
	int ret = -NLE_NOMEM;

	if (!route || !nh)
		goto out;
	ret = nl_addr_parse("default", family, &dst);
	if (ret == 0)
		ret = nl_addr_parse(gateway, family, &gw);
	if (ret < 0)
		goto out;
	rtnl_route_set_family(route, family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_dst(route, dst);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(route, nh);
	nh = NULL; /* the route owns it now */
	ret = rtnl_route_add(sk, route, NLM_F_CREATE);
out:
	if (nh)
		rtnl_route_nh_free(nh);
	if (route)
		rtnl_route_put(route);
	nl_addr_put(dst);
	nl_addr_put(gw);
	if (ret < 0)
		return nl_fail(err, ret, "cannot add a default route via",
			       gateway);
	return 0;
}

/* IPv6 is a bonus: a kernel booted with ipv6.disable=1 or a namespace with
 * disable_ipv6 set still gets a working IPv4 network. */
static void configure_ipv6(struct nl_sock *sk, int ifindex)
{
	struct hutch_err err = { 0 };
	char cidr[64];

	snprintf(cidr, sizeof(cidr), "%s/%d", NET_ADDR6_CONTAINER,
		 NET_PREFIX6_LEN);
	if (addr_add(sk, ifindex, AF_INET6, cidr, &err) < 0 ||
	    route_add_default(sk, ifindex, AF_INET6, NET_ADDR6_GATEWAY, &err) <
		    0)
		cmn_warn("IPv6 stays off in the container: %s", err.msg);
}

static int configure(struct nl_sock *sk, const struct net_config *cfg,
		     struct hutch_err *err)
{
	char cidr[64];
	int ifindex, ret;

	ret = link_up(sk, "lo", 0, err);
	if (ret == 0)
		ret = link_up(sk, cfg->tap_name, cfg->mtu, err);
	if (ret < 0)
		return ret;
	ifindex = if_nametoindex(cfg->tap_name);
	if (ifindex == 0)
		return cmn_err_set(err, errno, "cannot find %s", cfg->tap_name);
	snprintf(cidr, sizeof(cidr), "%s/%d", NET_ADDR_CONTAINER,
		 NET_PREFIX_LEN);
	ret = addr_add(sk, ifindex, AF_INET, cidr, err);
	if (ret == 0)
		ret = route_add_default(sk, ifindex, AF_INET, NET_ADDR_GATEWAY,
					err);
	if (ret == 0 && cfg->ipv6)
		configure_ipv6(sk, ifindex);
	return ret;
}

int net_tap_setup(const struct net_config *cfg, struct hutch_err *err)
{
	cleanup_close int fd = tap_create(cfg->tap_name, err);
	struct nl_sock *sk;
	int ret;

	if (fd < 0)
		return fd;
	sk = nl_socket_alloc();
	if (!sk)
		return cmn_err_set(err, ENOMEM,
				   "cannot allocate a netlink socket");
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0)
		ret = nl_fail(err, ret, "cannot open rtnetlink for",
			      cfg->tap_name);
	else
		ret = configure(sk, cfg, err);
	nl_socket_free(sk);
	if (ret < 0)
		return ret;
	return steal_fd(&fd);
}
