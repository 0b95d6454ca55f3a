-- hutch.lua - Lmod module file for hutch's relocatable bundle (make bundle)
--
-- Inside the bundle it lies in share/lmod/ and finds the bundle from its own
-- path:   module use /path/to/hutch-VERSION-ARCH/share/lmod; module load hutch
-- Copied into a site's module tree, set root below to where the bundle was
-- unpacked.
local root = nil
if root == nil then
	root = myFileName():match("^(.*)/share/lmod/[^/]+$")
end
if root == nil or not isDir(pathJoin(root, "bin")) then
	LmodError("hutch: cannot tell where the bundle is from " .. myFileName() ..
		"; set root at the top of this file to the unpacked hutch directory")
end

help([[
hutch: Docker's workflow (build, run -d -p, ps, logs, exec) without root and
without a daemon. Run 'hutch info' to check this machine, and put the image
store on node-local disk: export HUTCH_ROOT=/tmp/$USER/hutch
Bundle: ]] .. root)

whatis("Name: hutch")
whatis("Description: rootless containers with Docker's commands, for HPC")
whatis("URL: file://" .. root .. "/README")

prepend_path("PATH", pathJoin(root, "bin"))
