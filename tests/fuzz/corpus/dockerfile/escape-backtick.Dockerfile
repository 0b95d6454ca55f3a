# escape=`

FROM mcr.microsoft.com/windows/nanoserver
COPY testfile.txt c:\
RUN dir c:\
RUN echo one `
    two
ENV P=C:\Program` Files
LABEL x="a `"quoted`" b"
