FROM alpine
COPY --chown=55:mygroup files* /somedir/
COPY --chown=bin files* /somedir/
COPY --chown=myuser:mygroup --chmod=644 files* /somedir/
COPY --chmod=u=rwX,go=rX . /app/
COPY --link /foo /bar
COPY --link=false a b
COPY --parents ./x/./y/*.txt /parents/
COPY --exclude=*.txt --exclude=*.md hom* /mydir/
COPY ["file with spaces.txt", "other file", "/dest dir/"]
COPY arr[[]0].txt /dest/
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://mirrors.edge.kernel.org/pub/linux/kernel/Historic/linux-0.01.tar.gz /
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.10.1 /buildkit
ADD --unpack=false my-archive.tar.gz .
ADD --link --chmod=755 https://example.com/tool /usr/local/bin/tool
